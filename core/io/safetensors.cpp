#include "core/io/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/counts.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/json_depth.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied to and from memory as is");

namespace frugal {
namespace {

using OrderedJson = nlohmann::ordered_json;
constexpr const char* kMetadataKey = "__metadata__";
constexpr size_t kHeaderAlignment = 8;
// Same bound as the reference implementation: a larger header means a corrupt or hostile file.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

bool dtype_from_name(const std::string& name, DType* out) {
  static const std::pair<const char*, DType> kNames[] = {
      {"F32", DType::F32}, {"F64", DType::F64}, {"I32", DType::I32},
      {"I64", DType::I64}, {"U8", DType::U8},   {"BOOL", DType::U8}};
  for (const auto& [n, t] : kNames)
    if (name == n) {
      *out = t;
      return true;
    }
  return false;
}

void check_savable(const std::string& path, const NamedTensors& tensors) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    const std::string where = "saving '" + path + "': tensor '" + name + "'";
    if (name == kMetadataKey) throw InternalError(where + ": the name is reserved for metadata");
    if (!seen.insert(name).second) throw InternalError(where + " appears twice");
    if (!t.defined()) throw InternalError(where + " is undefined");
    if (t.device() != Device::CPU) throw InternalError(where + " is not on the CPU");
  }
}

// The JSON header padded with spaces so that data starts 8-byte aligned in the file.
std::string encode_header(const std::string& path, const NamedTensors& tensors,
                          const std::map<std::string, std::string>& metadata) {
  OrderedJson header = OrderedJson::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    OrderedJson entry;
    entry["dtype"] = dtype_name(t.dtype());
    entry["shape"] = t.shape().to_vector();
    entry["data_offsets"] = {offset, offset + t.nbytes()};
    header[name] = std::move(entry);
    offset += t.nbytes();
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw DataError("saving '" + path + "': cannot encode the header: " + e.what());
  }
  text.append((kHeaderAlignment - text.size() % kHeaderAlignment) % kHeaderAlignment, ' ');
  return text;
}

struct EntrySpec {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

// Reads one non-negative integer, or throws DataError built from `where`.
uint64_t read_count(const OrderedJson& v, const std::string& where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw DataError(where + " must be a non-negative integer, found " + v.dump());
  return v.get<uint64_t>();
}

EntrySpec parse_entry(const std::string& file, const std::string& name, const OrderedJson& entry,
                      uint64_t data_bytes) {
  const std::string where = "safetensors file '" + file + "': tensor '" + name + "'";
  if (!entry.is_object()) throw DataError(where + ": entry must be an object, found " + entry.dump());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) throw DataError(where + ": missing \"" + key + "\"");

  EntrySpec spec{name, DType::F32, Shape{}, 0, 0};
  const OrderedJson& dtype = entry["dtype"];
  if (!dtype.is_string() || !dtype_from_name(dtype.get<std::string>(), &spec.dtype))
    throw DataError(where + ": unknown dtype " + dtype.dump() +
                    " (expected F32, F64, I32, I64, U8 or BOOL)");

  const OrderedJson& shape = entry["shape"];
  if (!shape.is_array()) throw DataError(where + ": \"shape\" must be an array, found " + shape.dump());
  if (shape.size() > static_cast<size_t>(Shape::kMaxDims))
    throw DataError(where + ": shape " + shape.dump() + " has more than " +
                    std::to_string(Shape::kMaxDims) + " dimensions");
  // Shape::numel()'s bound (core/counts.h), checked here so the message names the file and the tensor.
  uint64_t nonzero_elements = 1;
  bool has_zero_dim = false;
  std::vector<int64_t> dims;
  for (const auto& d : shape) {
    uint64_t n = read_count(d, where + ": shape dimension");
    if (n != 0 && nonzero_elements > static_cast<uint64_t>(kMaxElements) / n)
      throw DataError(where + ": shape " + shape.dump() + " has too many elements");
    if (n == 0) has_zero_dim = true;
    else nonzero_elements *= n;
    dims.push_back(static_cast<int64_t>(n));
  }
  const uint64_t bytes = has_zero_dim ? 0 : nonzero_elements * dtype_size(spec.dtype);
  spec.shape = Shape(dims);

  const OrderedJson& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw DataError(where + ": \"data_offsets\" must be [begin, end], found " + offsets.dump());
  spec.begin = read_count(offsets[0], where + ": data_offsets begin");
  spec.end = read_count(offsets[1], where + ": data_offsets end");
  if (spec.end < spec.begin)
    throw DataError(where + ": data_offsets " + offsets.dump() + " end before they begin");
  if (spec.end > data_bytes)
    throw DataError(where + ": data_offsets " + offsets.dump() + " reach past the " +
                    std::to_string(data_bytes) + " data bytes in the file (truncated file?)");
  if (spec.end - spec.begin != bytes)
    throw DataError(where + ": shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
                    std::to_string(bytes) + " bytes but data_offsets " + offsets.dump() + " span " +
                    std::to_string(spec.end - spec.begin));
  return spec;
}

// The reference format packs tensors without gaps or overlaps and ends exactly at the end of the file.
void check_layout(const std::string& file, std::vector<const EntrySpec*> entries, uint64_t data_bytes) {
  std::sort(entries.begin(), entries.end(), [](const EntrySpec* a, const EntrySpec* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const EntrySpec* previous = nullptr;
  for (const EntrySpec* e : entries) {
    if (e->begin < expected)
      throw DataError("safetensors file '" + file + "': tensor '" + e->name + "' at bytes [" +
                      std::to_string(e->begin) + ", " + std::to_string(e->end) + ") overlaps tensor '" +
                      previous->name + "' ending at " + std::to_string(expected));
    if (e->begin > expected)
      throw DataError("safetensors file '" + file + "': gap of " + std::to_string(e->begin - expected) +
                      " bytes before tensor '" + e->name + "' at byte " + std::to_string(e->begin));
    expected = e->end;
    previous = e;
  }
  if (expected != data_bytes)
    throw DataError("safetensors file '" + file + "': " + std::to_string(data_bytes - expected) +
                    " bytes after the last tensor's data (expected the file to end at the data's end)");
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_savable(path, tensors);
  const std::string header = encode_header(path, tensors, metadata);
  write_file_atomic(path, [&](std::ostream& out) {
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(uint64_t(header.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), sizeof length);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& entry : tensors) {
      const Tensor t = entry.second.to(Device::CPU);  // device tensors are written from a host copy
      if (t.nbytes()) out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    }
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))  // ifstream would "open" it and report nonsense sizes
    throw IoError("safetensors file '" + path + "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open safetensors file '" + path + "' for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  in.seekg(0);
  if (end < 0 || !in) throw IoError("cannot determine the size of safetensors file '" + path + "'");
  const uint64_t file_bytes = static_cast<uint64_t>(end);
  const std::string where = "safetensors file '" + path + "'";
  if (file_bytes < 8)
    throw DataError(where + ": " + std::to_string(file_bytes) +
                    " bytes is too short for the 8-byte header length");

  unsigned char length[8];
  in.read(reinterpret_cast<char*>(length), sizeof length);
  uint64_t header_bytes = 0;
  for (int i = 0; i < 8; ++i) header_bytes |= uint64_t(length[i]) << (8 * i);
  if (header_bytes == 0 || header_bytes > kMaxHeaderBytes || header_bytes > file_bytes - 8)
    throw DataError(where + ": header length " + std::to_string(header_bytes) + " is invalid (expected 1.." +
                    std::to_string(std::min<uint64_t>(kMaxHeaderBytes, file_bytes - 8)) +
                    " for a file of " + std::to_string(file_bytes) + " bytes)");
  std::string header_text(header_bytes, '\0');
  if (!in.read(header_text.data(), static_cast<std::streamsize>(header_bytes)))
    throw IoError("cannot read the header of '" + path + "'");

  OrderedJson header;
  try {
    header = OrderedJson::parse(
        header_text, json_depth_limit<OrderedJson>([&] {
          return DataError(where + ": header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }));
  } catch (const nlohmann::json::exception& e) {  // syntax, or a number beyond double's range (1e999)
    throw DataError(where + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw DataError(where + ": header must be a JSON object, found " + header.dump());

  SafetensorsFile result;
  const uint64_t data_start = 8 + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start;
  std::vector<EntrySpec> specs;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) throw DataError(where + ": __metadata__ must be an object of strings");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string())
          throw DataError(where + ": __metadata__ entry '" + key + "' must be a string, found " +
                          text.dump());
        result.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    specs.push_back(parse_entry(path, name, value, data_bytes));
  }
  std::vector<const EntrySpec*> layout;
  for (const auto& s : specs) layout.push_back(&s);
  check_layout(path, layout, data_bytes);

  for (const EntrySpec& s : specs) {
    Tensor t = Tensor::empty(s.shape, s.dtype);
    in.seekg(static_cast<std::streamoff>(data_start + s.begin));
    if (t.nbytes() && !in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes())))
      throw IoError("cannot read tensor '" + s.name + "' from '" + path + "'");
    result.tensors.emplace_back(s.name, std::move(t));
  }
  return result;
}

}  // namespace frugal
