#include "core/io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/atomic_file.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

template <class T>
Tensor make_tensor(const Shape& shape, const std::vector<T>& values) {
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), t.nbytes());
  return t;
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    dir_ = fs::temp_directory_path() / ("frugal_st_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file with the given header text (unpadded) and data bytes.
  std::string write_raw(const std::string& header, const std::string& data) {
    std::string file = path("raw.safetensors");
    write_file_atomic(file, le64(header.size()) + header + data);
    return file;
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, EveryDtypeRoundTripsWithMetadata) {
  NamedTensors tensors = {
      {"f32", make_tensor<float>({2, 3}, {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f})},
      {"f64", make_tensor<double>({2}, {3.141592653589793, -1e300})},
      {"i32", make_tensor<int32_t>({3}, {-7, 0, 2147483647})},
      {"i64", make_tensor<int64_t>({1, 1, 2}, {-9000000000LL, 42})},
      {"u8", make_tensor<uint8_t>({5}, {0, 1, 127, 128, 255})},
  };
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"epoch", "3"}};
  save_safetensors(path("all.safetensors"), tensors, metadata);
  SafetensorsFile loaded = load_safetensors(path("all.safetensors"));

  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].second.dtype(), tensors[i].second.dtype());
    EXPECT_EQ(loaded.tensors[i].second.shape(), tensors[i].second.shape());
  }
  EXPECT_EQ(values_of<float>(loaded.tensors[0].second), values_of<float>(tensors[0].second));
  EXPECT_EQ(values_of<double>(loaded.tensors[1].second), values_of<double>(tensors[1].second));
  EXPECT_EQ(values_of<int32_t>(loaded.tensors[2].second), values_of<int32_t>(tensors[2].second));
  EXPECT_EQ(values_of<int64_t>(loaded.tensors[3].second), values_of<int64_t>(tensors[3].second));
  EXPECT_EQ(values_of<uint8_t>(loaded.tensors[4].second), values_of<uint8_t>(tensors[4].second));
}

TEST_F(SafetensorsTest, EmptyAndScalarTensorsRoundTrip) {
  NamedTensors tensors = {{"empty", Tensor::empty({0, 4})},
                          {"scalar", make_tensor<int64_t>(Shape{}, {17})},
                          {"after", make_tensor<float>({1}, {2.5f})}};
  save_safetensors(path("e.safetensors"), tensors);
  SafetensorsFile loaded = load_safetensors(path("e.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), 3u);
  EXPECT_EQ(loaded.tensors[0].second.shape(), (Shape{0, 4}));
  EXPECT_EQ(loaded.tensors[1].second.shape(), Shape{});
  EXPECT_EQ(values_of<int64_t>(loaded.tensors[1].second), std::vector<int64_t>{17});
  EXPECT_EQ(values_of<float>(loaded.tensors[2].second), std::vector<float>{2.5f});
  EXPECT_TRUE(loaded.metadata.empty());
}

TEST_F(SafetensorsTest, FileBytesFollowTheFormatExactly) {
  NamedTensors tensors = {{"z.weight", make_tensor<float>({2}, {1.0f, -1.0f})},
                          {"a.codes", make_tensor<uint8_t>({3}, {9, 8, 7})}};
  save_safetensors(path("f.safetensors"), tensors, {{"k", "v"}});
  const std::string bytes = read_file(path("f.safetensors"));

  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 8 + 3);
  const std::string header = bytes.substr(8, n);
  const size_t json_end = header.find_last_not_of(' ') + 1;
  EXPECT_EQ(header.back() == ' ', json_end < header.size());
  EXPECT_LT(header.size() - json_end, 8u);  // only as much padding as alignment needs

  auto json = nlohmann::ordered_json::parse(header.substr(0, json_end));
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"z.weight", "a.codes", "__metadata__"}));  // given order
  EXPECT_EQ(json["z.weight"], nlohmann::ordered_json::parse(
                                  R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})"));
  EXPECT_EQ(json["a.codes"], nlohmann::ordered_json::parse(
                                 R"({"dtype": "U8", "shape": [3], "data_offsets": [8, 11]})"));
  EXPECT_EQ(json["__metadata__"], nlohmann::ordered_json::parse(R"({"k": "v"})"));

  const std::string data = bytes.substr(8 + n);
  float f[2];
  std::memcpy(f, data.data(), 8);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -1.0f);
  EXPECT_EQ(data.substr(8), std::string("\x09\x08\x07"));
}

TEST_F(SafetensorsTest, EmptyMetadataIsLeftOutOfTheHeader) {
  save_safetensors(path("m.safetensors"), {{"x", make_tensor<float>({1}, {1.0f})}});
  EXPECT_EQ(read_file(path("m.safetensors")).find("__metadata__"), std::string::npos);
}

TEST_F(SafetensorsTest, BoolLoadsAsU8) {
  std::string file = write_raw(R"({"mask": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})",
                               std::string("\x01\x00", 2));
  SafetensorsFile loaded = load_safetensors(file);
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].second.dtype(), DType::U8);
  EXPECT_EQ(values_of<uint8_t>(loaded.tensors[0].second), (std::vector<uint8_t>{1, 0}));
}

TEST_F(SafetensorsTest, TensorsLoadInHeaderOrderWhateverTheirDataOrder) {
  std::string file = write_raw(
      R"({"second": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]},)"
      R"( "first": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})",
      "AB");
  SafetensorsFile loaded = load_safetensors(file);
  ASSERT_EQ(loaded.tensors.size(), 2u);
  EXPECT_EQ(loaded.tensors[0].first, "second");
  EXPECT_EQ(values_of<uint8_t>(loaded.tensors[0].second), std::vector<uint8_t>{'B'});
}

TEST_F(SafetensorsTest, MissingFileIsAnIoErrorNamingIt) {
  try {
    load_safetensors(path("nope.safetensors"));
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path("nope.safetensors")), std::string::npos) << e.what();
  }
}

TEST_F(SafetensorsTest, DuplicateTensorNamesAreRefusedWhenSaving) {
  Tensor t = make_tensor<float>({1}, {1.0f});
  EXPECT_THROW(save_safetensors(path("d.safetensors"), {{"w", t}, {"w", t}}), InternalError);
  EXPECT_FALSE(fs::exists(path("d.safetensors")));
}

// Each corrupt file must be a DataError naming the file and, where one is at fault, the tensor.
struct CorruptCase {
  const char* name;
  std::string bytes;       // the whole file
  const char* must_name;   // tensor the message must mention, or "" for none
};

std::string with_header(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::vector<CorruptCase> corrupt_cases() {
  const std::string good = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  const std::string eight(8, '\0');
  return {
      {"ShorterThanTheLengthField", std::string("\x05\x00\x00", 3), ""},
      {"HeaderLengthPastTheEnd", le64(1000) + good + eight, ""},
      {"HeaderLengthZero", le64(0) + eight, ""},
      {"InvalidJson", with_header(R"({"w": {"dtype": )", eight), ""},
      {"NumberBeyondDouble",
       with_header(R"({"w": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 8]}})", eight), ""},
      {"HeaderNotAnObject", with_header("[1, 2]", eight), ""},
      {"UnknownDtype", with_header(R"({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}})", eight),
       "w"},
      {"MissingShape", with_header(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", eight), "w"},
      {"NegativeDimension",
       with_header(R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", eight), "w"},
      {"OffsetsOutOfRange",
       with_header(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", eight), "w"},
      {"OffsetsReversed",
       with_header(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})", eight), "w"},
      {"ByteCountMismatch",
       with_header(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", eight), "w"},
      {"HugeShape",
       with_header(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
                   eight),
       "w"},
      {"Overlapping",
       with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                   R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                   eight),
       "b"},
      {"GapBetweenTensors",
       with_header(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                   R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [6, 8]}})",
                   eight),
       "b"},
      {"TrailingBytes", with_header(good, eight + "junk"), ""},
      {"TruncatedData", with_header(good, eight.substr(0, 5)), "w"},
      {"MetadataValueNotAString", with_header(R"({"__metadata__": {"epoch": 3}})", ""), ""},
      // 100000 nested arrays: dumping them for the message once overflowed the stack.
      {"NestedTooDeep",
       with_header(R"({"w": {"dtype": "F32", "shape": )" + std::string(100000, '[') + std::string(100000, ']') +
                       R"(, "data_offsets": [0, 0]}})",
                   ""),
       ""},
  };
}

class SafetensorsCorruptTest : public SafetensorsTest,
                               public ::testing::WithParamInterface<CorruptCase> {};

TEST_P(SafetensorsCorruptTest, IsADataErrorNamingTheFile) {
  const CorruptCase& c = GetParam();
  const std::string file = path("corrupt.safetensors");
  write_file_atomic(file, c.bytes);
  try {
    load_safetensors(file);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file), std::string::npos) << message;
    if (*c.must_name) {
      EXPECT_NE(message.find("'" + std::string(c.must_name) + "'"), std::string::npos) << message;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsCorruptTest, ::testing::ValuesIn(corrupt_cases()),
                         [](const ::testing::TestParamInfo<CorruptCase>& info) { return info.param.name; });

}  // namespace
}  // namespace frugal
