// End-to-end: bad files and output locations. Each gets exit code 2 and a message naming the file (and
// the key or tensor inside it); an output location that cannot be written fails before the work starts.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/e2e/cli_runner.h"
#include "tests/e2e/idx_files.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

std::string tiny_file(const TempDir& dir, nlohmann::json config = tiny_config("t")) {
  write_text(dir.path() / "config.json", config.dump(2));
  return dir.str("config.json");
}

bool trained_a_step(const CliResult& r) { return r.output.find("epoch 1") != std::string::npos; }

// Output locations under a regular file (or a file where frugal puts a folder) fail with the path named
// before the data loads: no training step, no gradient computation, no evaluation.
TEST(BadFilesCli, UnwritableOutputLocationsAreNamedBeforeTheWorkStarts) {
  TempDir dir("outputs");
  const std::string config = tiny_file(dir);
  write_text(dir.path() / "file", "x");
  const std::string under_file = dir.str("file") + "/sub";

  CliResult r = run_frugal("train --config " + config + " --output " + under_file);
  EXPECT_TRUE(is_user_error(r, {under_file, "not a directory"}));
  EXPECT_FALSE(trained_a_step(r)) << r.output;

  fs::create_directories(dir.path() / "run1");
  write_text(dir.path() / "run1/checkpoint", "x");  // where the link to the newest checkpoint goes
  r = run_frugal("train --config " + config + " --output " + dir.str("run1"));
  EXPECT_TRUE(is_user_error(r, {dir.str("run1/checkpoint")}));
  EXPECT_FALSE(trained_a_step(r)) << r.output;

  fs::create_directories(dir.path() / "run2/log.txt");
  r = run_frugal("train --config " + config + " --output " + dir.str("run2"));
  EXPECT_TRUE(is_user_error(r, {dir.str("run2/log.txt"), "directory"}));

  EXPECT_TRUE(is_user_error(run_frugal("profile --config " + config + " --output " + under_file), {under_file}));
  r = run_frugal("gradcheck --config " + config + " --output " + under_file);
  EXPECT_TRUE(is_user_error(r, {under_file}));
  EXPECT_EQ(r.output.find("gradcheck of"), std::string::npos) << "the gradients were computed first:\n" << r.output;
  r = run_frugal("bench --config " + config + " --steps 1 --json " + under_file + "/b.json");
  EXPECT_TRUE(is_user_error(r, {under_file}));
  EXPECT_EQ(r.output.find("median step"), std::string::npos) << "the steps were timed first:\n" << r.output;
  r = run_frugal("plan --config " + config + " --budget-mb 100 --output " + under_file);
  EXPECT_TRUE(is_user_error(r, {under_file, "not a directory"}));
  EXPECT_EQ(r.output.find("backward plan for"), std::string::npos) << "planned first:\n" << r.output;
  for (const char* option : {"--json", "--dump"}) {
    r = run_frugal("data bench --config " + config + " --batches 2 " + option + " " + under_file + "/d");
    EXPECT_TRUE(is_user_error(r, {under_file, "not a directory"})) << option;
    EXPECT_EQ(r.output.find("images_per_second"), std::string::npos) << "timed first:\n" << r.output;
  }

  ASSERT_EQ(run_frugal("train --config " + config + " --set train.epochs=1 --output " + dir.str("ok")).exit_code, 0);
  r = run_frugal("eval --config " + config + " --checkpoint " + dir.str("ok/checkpoint") + " --output " + under_file +
                 "/e.json");
  EXPECT_TRUE(is_user_error(r, {under_file}));
  EXPECT_EQ(r.output.find("accuracy"), std::string::npos) << "evaluated first:\n" << r.output;
  r = run_frugal("compare " + dir.str("ok") + " --output " + under_file);
  EXPECT_TRUE(is_user_error(r, {under_file, "not a directory"}));
  r = run_frugal("step --config " + config + " --init " + dir.str("ok/checkpoint/model.safetensors") +
                 " --batch " + dir.str("ok/checkpoint/model.safetensors") + " --output " + under_file + "/w.safetensors");
  EXPECT_TRUE(is_user_error(r, {under_file}));
}

// state.json of the newest checkpoint with a key missing or of the wrong type: the file and key are named.
TEST(BadFilesCli, DamagedCheckpointStateNamesTheFileAndKey) {
  TempDir dir("state");
  const std::string config = tiny_file(dir);
  ASSERT_EQ(run_frugal("train --config " + config + " --set train.checkpoint_every=0 --output " + dir.str("run")).exit_code, 0);
  const fs::path state = fs::canonical(dir.path() / "run/checkpoint") / "state.json";
  const auto good = nlohmann::json::parse(read_text(state));
  struct Case {
    nlohmann::json state;
    std::string key;
  };
  auto without_step = good;
  without_step.erase("step");
  auto epoch_text = good;
  epoch_text["epoch"] = "two";
  auto negative = good;
  negative["batch_in_epoch"] = -1;
  for (const Case& c : {Case{without_step, "'step' is missing"}, Case{epoch_text, "'epoch' must be an integer"},
                        Case{negative, "'batch_in_epoch' must be an integer"}, Case{nlohmann::json::array({1}), "object"}}) {
    write_text(state, c.state.dump());
    EXPECT_TRUE(is_user_error(run_frugal("train --resume " + dir.str("run")), {state.string(), c.key}));
  }
}

TEST(BadFilesCli, IdxHeaderWithAZeroDimensionNamesTheFile) {
  TempDir dir("idx0");
  fs::create_directories(dir.path() / "data");
  for (const char* split : {"train", "t10k"}) {
    // 4 images of 0 x 28 pixels: nothing to read, so no size check fails, yet no image exists.
    write_gz(dir.path() / "data" / (std::string(split) + "-images-idx3-ubyte.gz"),
             be32(0x0803) + be32(4) + be32(0) + be32(28));
    write_gz(dir.path() / "data" / (std::string(split) + "-labels-idx1-ubyte.gz"), be32(0x0801) + be32(4) + "\1\2\3\4");
  }
  auto cfg = tiny_config("t");
  cfg["data"] = {{"dataset", "fashion_mnist"}, {"path", dir.str("data")}, {"batch_size", 2}};
  const std::string config = tiny_file(dir, cfg);
  EXPECT_TRUE(is_user_error(run_frugal("train --config " + config + " --output " + dir.str("run")),
                            {"images-idx3-ubyte.gz", "dimension 1 of [4, 0, 28] as 0"}));
  EXPECT_TRUE(is_user_error(run_frugal("data info " + dir.str("data/train-images-idx3-ubyte.gz")), {"as 0"}));
}

// A safetensors batch for `frugal step`: tensors given as (name, dtype, shape, bytes).
struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

void write_safetensors(const fs::path& p, const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  write_text(p, out + h + data);
}

TEST(BadFilesCli, StepBatchOfTheWrongKindNamesTheFileAndTensor) {
  TempDir dir("step");
  const std::string config = tiny_file(dir);
  ASSERT_EQ(run_frugal("train --config " + config + " --set train.epochs=1 --output " + dir.str("run")).exit_code, 0);
  const std::string weights = dir.str("run/checkpoint/model.safetensors");
  const std::string f32_images(2 * 64 * 4, '\0'), i64_labels(2 * 8, '\0');
  auto step_with = [&](const std::vector<RawTensor>& batch) {
    write_safetensors(dir.path() / "batch.safetensors", batch);
    return run_frugal("step --config " + config + " --init " + weights + " --batch " + dir.str("batch.safetensors") +
                      " --output " + dir.str("out.safetensors"));
  };
  const std::string batch = dir.str("batch.safetensors");
  EXPECT_TRUE(is_user_error(step_with({{"images", "F64", {2, 1, 8, 8}, std::string(2 * 64 * 8, '\0')},
                                       {"labels", "I64", {2}, i64_labels}}),
                            {batch, "'images'", "F64", "expected F32"}));
  EXPECT_TRUE(is_user_error(step_with({{"images", "F32", {2, 3, 8, 8}, std::string(2 * 3 * 64 * 4, '\0')},
                                       {"labels", "I64", {2}, i64_labels}}),
                            {batch, "'images'", "[2, 3, 8, 8]", "[N, 1, 8, 8]"}));
  EXPECT_TRUE(is_user_error(step_with({{"images", "F32", {2, 1, 8, 8}, f32_images}, {"labels", "F32", {2}, std::string(8, '\0')}}),
                            {batch, "'labels'", "F32"}));
  EXPECT_TRUE(is_user_error(step_with({{"images", "F32", {2, 1, 8, 8}, f32_images}, {"labels", "I64", {3}, std::string(24, '\0')}}),
                            {batch, "'labels'", "[3]"}));
  std::string label_99 = i64_labels;
  label_99[8] = 99;
  EXPECT_TRUE(is_user_error(step_with({{"images", "F32", {2, 1, 8, 8}, f32_images}, {"labels", "I64", {2}, label_99}}),
                            {batch, "'labels'", "99", "[0, 4)"}));
}

TEST(BadFilesCli, ResumeOfSomethingThatIsNotARunDirectoryIsNamed) {
  TempDir dir("notrun");
  write_text(dir.path() / "file", "x");
  EXPECT_TRUE(is_user_error(run_frugal("train --resume " + dir.str("file")), {dir.str("file"), "not a run directory"}));
  EXPECT_TRUE(is_user_error(run_frugal("train --resume " + dir.str("missing")), {dir.str("missing")}));
}

// A run started (by mistake) into the directory of an earlier run, with a config that fails: the earlier
// run's config and checkpoints are untouched, and it still resumes.
TEST(BadFilesCli, AFreshRunThatFailsToStartLeavesTheEarlierRunAsItWas) {
  TempDir dir("earlier");
  const std::string config = tiny_file(dir);
  ASSERT_EQ(run_frugal("train --config " + config + " --set train.max_steps=8 --output " + dir.str("run")).exit_code, 0);
  const std::string saved = read_text(dir.path() / "run/config.json");
  CliResult r = run_frugal("train --config " + config + " --set data.synthetic.train_size=16 --output " + dir.str("run"));
  EXPECT_TRUE(is_user_error(r, {"data.batch_size"}));
  EXPECT_EQ(read_text(dir.path() / "run/config.json"), saved);
  EXPECT_TRUE(fs::exists(dir.path() / "run/checkpoints/step-00000008/model.safetensors"));
  r = run_frugal("train --resume " + dir.str("run") + " --set train.max_steps=0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace frugal::e2e
