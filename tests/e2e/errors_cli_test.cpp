// End-to-end: bad configs and bad data files give a clear message naming what is wrong, exit code 2,
// and never a crash.
#include <gtest/gtest.h>

#include "tests/e2e/cli_runner.h"
#include "tests/e2e/idx_files.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

CliResult train_with(const TempDir& dir, const nlohmann::json& config, const std::string& extra = "") {
  write_text(dir.path() / "bad.json", config.dump(2));
  return run_frugal("train --config " + dir.str("bad.json") + " --output " + dir.str("run") + " " + extra);
}

void expect_user_error(const CliResult& r, std::initializer_list<const char*> fragments) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const char* f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in: " << r.output;
}

TEST(ErrorsCli, UnknownKeyNamesThePathAndSuggestsTheNearestKey) {
  TempDir dir("typo");
  auto cfg = tiny_config("t");
  cfg["train"]["epoch"] = 3;
  expect_user_error(train_with(dir, cfg), {"train.epoch", "train.epochs"});
}

TEST(ErrorsCli, WrongTypeNamesTheKey) {
  TempDir dir("type");
  auto cfg = tiny_config("t");
  cfg["data"]["batch_size"] = "large";
  expect_user_error(train_with(dir, cfg), {"data.batch_size"});
}

TEST(ErrorsCli, MissingRequiredKeyNamesIt) {
  TempDir dir("missing");
  auto cfg = tiny_config("t");
  cfg["model"].erase("arch");
  expect_user_error(train_with(dir, cfg), {"model.arch"});
}

TEST(ErrorsCli, BadOverrideNamesTheOverride) {
  TempDir dir("override");
  expect_user_error(train_with(dir, tiny_config("t"), "--set optimizer.lrr=0.1"), {"optimizer.lrr", "optimizer.lr"});
}

TEST(ErrorsCli, MalformedJsonNamesTheFileAndLine) {
  TempDir dir("json");
  write_text(dir.path() / "broken.json", "{\n  \"name\": \"x\",\n  \"seed\": ,\n}\n");
  expect_user_error(run_frugal("train --config " + dir.str("broken.json")), {"broken.json", "3"});
}

TEST(ErrorsCli, MissingConfigFileIsNamed) {
  expect_user_error(run_frugal("train --config /nonexistent/frugal.json"), {"/nonexistent/frugal.json"});
}

TEST(ErrorsCli, ModeOnALayerItCannotServeIsRefused) {
  TempDir dir("mode");
  auto cfg = tiny_config("t");
  cfg["backward"] = {{"layers", {{{"match", "nothing*"}, {"mode", "exact"}}}}};
  expect_user_error(train_with(dir, cfg), {"nothing*"});
}

TEST(ErrorsCli, WrongMagicNumberInAnIdxFileNamesTheFile) {
  TempDir dir("idx");
  fs::create_directories(dir.path() / "data");
  write_gz(dir.path() / "data/train-images-idx3-ubyte.gz", be32(0x0801) + be32(1) + be32(2) + be32(2) + "abcd");
  write_gz(dir.path() / "data/train-labels-idx1-ubyte.gz", be32(0x0801) + be32(1) + "\x01");
  write_gz(dir.path() / "data/t10k-images-idx3-ubyte.gz", be32(0x0803) + be32(1) + be32(2) + be32(2) + "abcd");
  write_gz(dir.path() / "data/t10k-labels-idx1-ubyte.gz", be32(0x0801) + be32(1) + "\x01");
  auto cfg = tiny_config("t");
  cfg["data"] = {{"dataset", "fashion_mnist"}, {"path", dir.str("data")}, {"batch_size", 1}};
  expect_user_error(train_with(dir, cfg), {"train-images-idx3-ubyte.gz"});
}

TEST(ErrorsCli, TruncatedIdxFileNamesTheFile) {
  TempDir dir("trunc");
  fs::create_directories(dir.path() / "data");
  for (const char* split : {"train", "t10k"}) {
    write_gz(dir.path() / "data" / (std::string(split) + "-images-idx3-ubyte.gz"),
             be32(0x0803) + be32(10) + be32(28) + be32(28) + std::string(100, '\0'));
    write_gz(dir.path() / "data" / (std::string(split) + "-labels-idx1-ubyte.gz"), be32(0x0801) + be32(10) + std::string(10, '\1'));
  }
  auto cfg = tiny_config("t");
  cfg["data"] = {{"dataset", "fashion_mnist"}, {"path", dir.str("data")}, {"batch_size", 2}};
  CliResult r = train_with(dir, cfg);
  expect_user_error(r, {"images-idx3-ubyte.gz"});
}

TEST(ErrorsCli, MissingDataDirectoryIsNamed) {
  TempDir dir("nodata");
  auto cfg = tiny_config("t");
  cfg["data"] = {{"dataset", "cifar10"}, {"path", dir.str("no_such_dir")}};
  expect_user_error(train_with(dir, cfg), {"no_such_dir"});
}

TEST(ErrorsCli, DataInfoDescribesRealFashionMnist) {
  CliResult r = run_frugal("data info /usr/share/datasets/fashion-mnist");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("60000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("10000"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace frugal::e2e
