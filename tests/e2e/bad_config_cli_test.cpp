// End-to-end: bad settings, tried from the command line as a new user would. Each class of mistake gets
// exit code 2 and a message naming the key path at fault, before any training step runs.
#include <gtest/gtest.h>

#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

// `frugal train` of the tiny config with `sets` (--set k=v each) into a fresh run directory.
CliResult train_tiny(const TempDir& dir, const std::vector<std::string>& sets, nlohmann::json config = tiny_config("t"),
                     const std::string& env = "") {
  write_text(dir.path() / "config.json", config.dump(2));
  std::string args = "train --config " + dir.str("config.json") + " --output " + dir.str("run");
  for (const std::string& s : sets) args += " --set '" + s + "'";
  return run_frugal(args, env);
}

bool trained_a_step(const CliResult& r) { return r.output.find("epoch 1") != std::string::npos; }

// Sizes near 2^62 once overflowed element and byte counts ("free(): invalid size", segfaults, hangs).
TEST(BadConfigCli, SizesBeyondTheirBoundNameTheKey) {
  TempDir dir("sizes");
  const std::string huge = "4611686018427387904";  // 2^62
  for (const char* key : {"data.batch_size", "data.test_batch_size", "data.synthetic.classes",
                          "data.synthetic.train_size", "data.synthetic.test_size", "data.prefetch",
                          "data.augment.crop_padding", "model.num_classes", "train.epochs", "train.max_steps",
                          "threads", "output.keep_checkpoints"}) {
    CliResult r = train_tiny(dir, {std::string(key) + "=" + huge});
    EXPECT_TRUE(is_user_error(r, {"value out of range for '" + std::string(key) + "'"})) << key;
  }
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"model.hidden=[" + huge + "]"}), {"'model.hidden[0]'"}));
  // A split's examples are shuffled with 32-bit draws: 2^32 of them is one too many.
  for (const char* key : {"data.synthetic.train_size", "data.synthetic.test_size"})
    EXPECT_TRUE(is_user_error(train_tiny(dir, {std::string(key) + "=4294967296"}),
                              {"value out of range for '" + std::string(key) + "'", "<= 4294967295"}))
        << key;
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"data.synthetic.shape=[" + huge + ",2,2]"}), {"'data.synthetic.shape[0]'"}));
  // Real-valued settings become floats: no float holds 1e300.
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"optimizer.weight_decay=1e300"}), {"'optimizer.weight_decay'"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"memory.budget_mb=1e300"}), {"'memory.budget_mb'"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"schedule.warmup_epochs=1e300"}), {"'schedule.warmup_epochs'"}));
}

// A run predicted to need more than the machine's RAM and swap is refused before training, naming the
// prediction's parts, instead of being ended by the kernel's out-of-memory killer (exit 137) once the
// loader fills its prefetch buffers. The machine is made small (FRUGAL_TEST_MACHINE_MEMORY_MB) rather
// than the run large, so the test allocates nothing big wherever it runs.
TEST(BadConfigCli, ARunPredictedBeyondTheMachinesMemoryIsRefusedBeforeItStarts) {
  TempDir dir("beyond_machine");
  CliResult r = train_tiny(dir, {"data.prefetch=64"}, tiny_config("t"), "FRUGAL_TEST_MACHINE_MEMORY_MB=8");
  EXPECT_TRUE(is_user_error(r, {"memory: the process is predicted to need", "but this machine has 8.0 MiB of memory and swap",
                                "loaders", "data.prefetch"}));
  EXPECT_FALSE(trained_a_step(r));
  // The same run on the real machine trains.
  EXPECT_EQ(train_tiny(dir, {"data.prefetch=64", "train.epochs=1"}).exit_code, 0);
}

// Each size within its bound, their product beyond what a batch may hold.
TEST(BadConfigCli, ProductsOfSizesNameTheKey) {
  TempDir dir("products");
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"data.synthetic.shape=[65536,65536,65536]"}),
                            {"data.synthetic.shape", "more than 2^40 values"}));
  CliResult r = train_tiny(dir, {"data.synthetic.shape=[16,1024,1024]", "data.batch_size=1048576",
                                 "data.synthetic.train_size=1048576"});
  EXPECT_TRUE(is_user_error(r, {"data.batch_size", "more than 2^40 values in one batch"}));
}

TEST(BadConfigCli, HugeLearningRateNamesOptimizerLr) {
  TempDir dir("lr");
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"optimizer.lr=1e300"}), {"'optimizer.lr'"}));
  // Finite but far too large: training diverges, and the message says which key to lower.
  CliResult r = train_tiny(dir, {"optimizer.lr=1e30"});
  EXPECT_TRUE(is_user_error(r, {"diverged", "optimizer.lr"}));
}

TEST(BadConfigCli, OverrideWithAnIndexTooLargeForAnIntegerNamesTheOverride) {
  TempDir dir("index");
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"model.hidden[99999999999999999999]=3"}),
                            {"override 'model.hidden[99999999999999999999]=3'", "too large"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"model.hidden[7]=3"}), {"index 7 is out of range for 'model.hidden'"}));
}

TEST(BadConfigCli, UnknownSubcommandIsNamedWithTheNearestOne) {
  CliResult r = run_frugal("trian --config x.json");
  EXPECT_TRUE(is_user_error(r, {"unknown command 'trian'", "did you mean 'train'"}));
  r = run_frugal("data infp /tmp");
  EXPECT_TRUE(is_user_error(r, {"frugal data: unknown command 'infp'", "did you mean 'info'"}));
}

TEST(BadConfigCli, FewerClassesThanTheDataIsRefusedBeforeTraining) {
  TempDir dir("classes");
  CliResult r = train_tiny(dir, {"model.num_classes=2"});  // the data has 4
  EXPECT_TRUE(is_user_error(r, {"model.num_classes", "fewer than the 4 classes"}));
  EXPECT_FALSE(trained_a_step(r)) << r.output;
}

TEST(BadConfigCli, DuplicateLayerNamesNameTheEntry) {
  TempDir dir("dup");
  auto cfg = tiny_config("t");
  cfg["model"] = {{"arch", "sequential"},
                  {"layers",
                   {{{"type", "flatten"}},
                    {{"type", "linear"}, {"out_features", 8}, {"name", "fc"}},
                    {{"type", "relu"}},
                    {{"type", "linear"}, {"name", "fc"}}}}};
  EXPECT_TRUE(is_user_error(train_tiny(dir, {}, cfg), {"model.layers[3].name", "'fc'", "model.layers[1]"}));
  // An unnamed layer is named by its index, which an explicit name may take.
  cfg["model"]["layers"][3]["name"] = "0";
  EXPECT_TRUE(is_user_error(train_tiny(dir, {}, cfg), {"model.layers[3].name", "model.layers[0]"}));
}

TEST(BadConfigCli, NormalisationErrorsNameDataNormalize) {
  TempDir dir("norm");
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"data.normalize.mean=[0.5,0.5]"}), {"data.normalize.mean"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"data.normalize.std=[0]"}), {"'data.normalize.std[0]'"}));
}

// Errors found inside the library name the config key the value came from.
TEST(BadConfigCli, LibraryErrorsNameTheConfigKey) {
  TempDir dir("lib");
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"schedule.name=multistep", "schedule.milestones=[5,3]"}),
                            {"schedule.milestones"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"schedule.min_lr=1"}), {"schedule.min_lr", "optimizer.lr"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"optimizer.nesterov=true", "optimizer.momentum=0"}),
                            {"optimizer.nesterov"}));
  EXPECT_TRUE(is_user_error(train_tiny(dir, {"data.synthetic.train_size=16"}), {"data.batch_size"}));
}

// An allocation the system refuses names what it was for. 2^62 bytes exceed every address space, so
// the refusal does not depend on the machine (under AddressSanitizer: allocator_may_return_null=1).
TEST(BadConfigCli, OutOfMemoryNamesTheLayer) {
  TempDir dir("oom");
  // Examples of 2^40 values into a linear layer of 2^20 outputs: 2^60 weights.
  CliResult r = train_tiny(dir, {"data.synthetic.shape=[65536,65536,256]", "data.batch_size=1", "data.test_batch_size=1",
                                 "model.hidden=[1048576]"},
                           tiny_config("t"), "ASAN_OPTIONS=\"$ASAN_OPTIONS:allocator_may_return_null=1\"");
  EXPECT_TRUE(is_user_error(r, {"out of memory", "weights of '1'"}));
}

}  // namespace
}  // namespace frugal::e2e
