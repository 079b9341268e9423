#include "core/io/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

// A fresh, empty directory per test, removed afterwards.
class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("frugal_atomic_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    return names;
  }

  fs::path dir_;
};

template <class ErrorType, class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const ErrorType& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

TEST_F(AtomicFileTest, WrittenBytesReadBackExactly) {
  const std::string contents("binary\0data\n\xff", 13);
  write_file_atomic(path("a.bin"), contents);
  EXPECT_EQ(read_file(path("a.bin")), contents);
}

TEST_F(AtomicFileTest, StreamingWriterLargerThanTheBufferIsWrittenInOrder) {
  std::string expected;
  write_file_atomic(path("big.bin"), [&](std::ostream& out) {
    for (int i = 0; i < 50000; ++i) {  // many small writes, then one large block
      std::string piece = std::to_string(i) + ",";
      out << piece;
      expected += piece;
    }
    std::string block(300000, 'x');
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
    expected += block;
  });
  EXPECT_EQ(read_file(path("big.bin")), expected);
}

TEST_F(AtomicFileTest, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  write_file_atomic(path("f.txt"), "old version");
  write_file_atomic(path("f.txt"), "new");
  EXPECT_EQ(read_file(path("f.txt")), "new");
  EXPECT_EQ(entries(), std::vector<std::string>{"f.txt"});
}

TEST_F(AtomicFileTest, WriterThatThrowsKeepsTheOldFileAndRemovesTheTemporary) {
  write_file_atomic(path("f.txt"), "old version");
  std::string message = message_of<std::logic_error>([&] {
    write_file_atomic(path("f.txt"), [](std::ostream& out) {
      out << std::string(200000, 'n');  // partly on disk already when the writer fails
      throw std::logic_error("writer failed");
    });
  });
  EXPECT_EQ(message, "writer failed");  // the writer's exception propagates unchanged
  EXPECT_EQ(read_file(path("f.txt")), "old version");
  EXPECT_EQ(entries(), std::vector<std::string>{"f.txt"});
}

TEST_F(AtomicFileTest, MissingDirectoryIsAnIoErrorNamingThePath) {
  const std::string target = path("no_such_dir/f.txt");
  std::string message = message_of<IoError>([&] { write_file_atomic(target, "x"); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
}

TEST_F(AtomicFileTest, RenameOntoADirectoryFailsWithIoErrorAndRemovesTheTemporary) {
  fs::create_directories(path("occupied") + "/inner");
  std::string message = message_of<IoError>([&] { write_file_atomic(path("occupied"), "x"); });
  EXPECT_NE(message.find(path("occupied")), std::string::npos) << message;
  EXPECT_EQ(entries(), std::vector<std::string>{"occupied"});
}

TEST_F(AtomicFileTest, ReadingAMissingFileIsAnIoErrorNamingThePath) {
  std::string message = message_of<IoError>([&] { read_file(path("missing.txt")); });
  EXPECT_NE(message.find(path("missing.txt")), std::string::npos) << message;
}

TEST_F(AtomicFileTest, ReadingADirectoryIsAnIoErrorNamingThePath) {
  std::string message = message_of<IoError>([&] { read_file(dir_.string()); });
  EXPECT_NE(message.find(dir_.string()), std::string::npos) << message;
}

TEST_F(AtomicFileTest, EmptyContentsGiveAnEmptyFile) {
  write_file_atomic(path("empty"), std::string());
  EXPECT_EQ(fs::file_size(path("empty")), 0u);
  EXPECT_EQ(read_file(path("empty")), "");
}

TEST_F(AtomicFileTest, ReplacingALinkPointsItAtTheNewTargetAndLeavesNoTemporary) {
  fs::create_directories(path("a"));
  fs::create_directories(path("b"));
  replace_symlink_atomic(path("latest"), "a");
  EXPECT_EQ(fs::read_symlink(path("latest")), fs::path("a"));
  replace_symlink_atomic(path("latest"), "b");
  EXPECT_EQ(fs::read_symlink(path("latest")), fs::path("b"));
  std::vector<std::string> names = entries();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "latest"}));
}

TEST_F(AtomicFileTest, ALinkCannotReplaceAFolderAndTheErrorNamesIt) {
  fs::create_directories(path("latest/x"));
  const std::string message = message_of<IoError>([&] { replace_symlink_atomic(path("latest"), "a"); });
  EXPECT_NE(message.find(path("latest")), std::string::npos) << message;
  EXPECT_TRUE(fs::is_directory(path("latest/x")));
}

TEST_F(AtomicFileTest, RenameMovesAFolderAndNamesBothPathsOnFailure) {
  fs::create_directories(path("partial"));
  write_file_atomic(path("partial/f"), "x");
  rename_durable(path("partial"), path("done"));
  EXPECT_EQ(read_file(path("done/f")), "x");
  const std::string message = message_of<IoError>([&] { rename_durable(path("partial"), path("done2")); });
  EXPECT_NE(message.find(path("partial")), std::string::npos) << message;
  EXPECT_NE(message.find(path("done2")), std::string::npos) << message;
}

}  // namespace
}  // namespace frugal
