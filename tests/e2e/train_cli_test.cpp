// End-to-end: `frugal train`, `eval`, `profile` and resume on small synthetic data.
#include <gtest/gtest.h>

#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

std::string write_config(const TempDir& dir, const nlohmann::json& config, const std::string& file = "config.json") {
  write_text(dir.path() / file, config.dump(2));
  return dir.str(file);
}

// The bytes of a file of run `run`'s checkpoint (under dir): runs that should agree bit for bit agree here.
std::string checkpoint_bytes(const TempDir& dir, const std::string& run,
                             const std::string& file = "model.safetensors") {
  return read_text(dir.path() / run / "checkpoint" / file);
}

TEST(TrainCli, WritesTheRunDirectoryAndLearns) {
  TempDir dir("train");
  std::string cfg = write_config(dir, tiny_config("tiny"));
  CliResult r = run_frugal("train --config " + cfg + " --output " + dir.str("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "log.txt", "metrics.jsonl", "summary.json", "memory.json", "memory.html",
                        "checkpoint/model.safetensors", "checkpoint/optimizer.safetensors", "checkpoint/state.json"})
    EXPECT_TRUE(fs::exists(dir.path() / "run" / f)) << f;
  auto summary = nlohmann::json::parse(read_text(dir.path() / "run/summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["epochs_completed"], 2);
  EXPECT_EQ(summary["steps"], 16);  // 256 samples / batch 32, 2 epochs
  EXPECT_GT(summary["test"]["accuracy"].get<double>(), 0.5) << "chance is 0.25";
  // Train and test splits come from one distribution: evaluation must see the same normalised inputs.
  EXPECT_NEAR(summary["test"]["accuracy"].get<double>(), summary["train"]["accuracy"].get<double>(), 0.2);
  for (const char* key : {"name", "train", "best_test_accuracy", "wall_seconds", "images_per_second"})
    EXPECT_TRUE(summary.contains(key)) << key;
  // One metrics line per epoch with the documented keys.
  std::istringstream lines(read_text(dir.path() / "run/metrics.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto m = nlohmann::json::parse(line);
    for (const char* key : {"epoch", "step", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                            "images_per_second", "seconds"})
      EXPECT_TRUE(m.contains(key)) << key;
    EXPECT_EQ(m["epoch"], ++n);
  }
  EXPECT_EQ(n, 2);
  EXPECT_NE(r.output.find("img/s"), std::string::npos) << "progress line missing: " << r.output;
}

TEST(TrainCli, SameSeedIsBitIdenticalAndAnotherSeedDiffers) {
  TempDir dir("seed");
  auto cfg = tiny_config("s");
  cfg["train"]["epochs"] = 1;
  std::string file = write_config(dir, cfg);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("a")).exit_code, 0);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("b")).exit_code, 0);
  ASSERT_EQ(run_frugal("train --config " + file + " --set seed=4 --output " + dir.str("c")).exit_code, 0);
  std::string a = checkpoint_bytes(dir, "a");
  EXPECT_TRUE(a == checkpoint_bytes(dir, "b"));
  EXPECT_FALSE(a == checkpoint_bytes(dir, "c"));
}

// The run is stopped by a step budget at the end of epoch 1 (8 steps), so the schedule (cosine over
// the run's 2 epochs) is the same as the straight run's.
TEST(TrainCli, ResumeAfterAnEpochIsBitIdentical) {
  TempDir dir("resume");
  std::string file = write_config(dir, tiny_config("r"));
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("straight")).exit_code, 0);
  CliResult first = run_frugal("train --config " + file + " --set train.max_steps=8 --output " + dir.str("split"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path() / "split/summary.json"))["epochs_completed"], 1);
  CliResult resumed = run_frugal("train --resume " + dir.str("split") + " --set train.max_steps=0");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(checkpoint_bytes(dir, "straight") == checkpoint_bytes(dir, "split"));
  EXPECT_TRUE(checkpoint_bytes(dir, "straight", "optimizer.safetensors") == checkpoint_bytes(dir, "split", "optimizer.safetensors"));
  auto summary = nlohmann::json::parse(read_text(dir.path() / "split/summary.json"));
  EXPECT_EQ(summary["epochs_completed"], 2);
}

TEST(TrainCli, ResumeInTheMiddleOfAnEpochIsBitIdentical) {
  TempDir dir("resume_mid");
  std::string file = write_config(dir, tiny_config("m"));
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("straight")).exit_code, 0);
  CliResult stopped = run_frugal("train --config " + file + " --set train.max_steps=5 --output " + dir.str("split"));
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path() / "split/summary.json"))["status"], "max_steps");
  ASSERT_EQ(run_frugal("train --resume " + dir.str("split") + " --set train.max_steps=0").exit_code, 0);
  EXPECT_TRUE(checkpoint_bytes(dir, "straight") == checkpoint_bytes(dir, "split"));
}

TEST(TrainCli, OneMicroBatchIsTheStepAsBefore) {
  TempDir dir("micro1");
  auto cfg = tiny_config("m1");
  cfg["train"]["epochs"] = 1;
  std::string file = write_config(dir, cfg);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("a")).exit_code, 0);
  ASSERT_EQ(run_frugal("train --config " + file + " --set train.micro_batches=1 --output " + dir.str("b")).exit_code, 0);
  EXPECT_TRUE(checkpoint_bytes(dir, "a") == checkpoint_bytes(dir, "b"));
  EXPECT_TRUE(checkpoint_bytes(dir, "a", "optimizer.safetensors") == checkpoint_bytes(dir, "b", "optimizer.safetensors"));
}

TEST(TrainCli, MicroBatchesPlanASmallerStepAndResumeBitIdentically) {
  TempDir dir("micro");
  auto cfg = tiny_config("mb");
  cfg["model"]["hidden"] = {256};  // activations that outweigh the weights
  cfg["train"]["micro_batches"] = 4;
  std::string file = write_config(dir, cfg);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("straight")).exit_code, 0);
  ASSERT_EQ(run_frugal("train --config " + file + " --set train.micro_batches=1 --output " + dir.str("whole")).exit_code, 0);
  auto split = nlohmann::json::parse(read_text(dir.path() / "straight/memory.json"));
  auto whole = nlohmann::json::parse(read_text(dir.path() / "whole/memory.json"));
  EXPECT_LT(split["peak_bytes"].get<double>(), whole["peak_bytes"].get<double>());
  EXPECT_EQ(split["measured_peak_bytes"], split["peak_bytes"]);
  CliResult first = run_frugal("train --config " + file + " --set train.max_steps=5 --output " + dir.str("split"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(run_frugal("train --resume " + dir.str("split") + " --set train.max_steps=0").exit_code, 0);
  EXPECT_TRUE(checkpoint_bytes(dir, "straight") == checkpoint_bytes(dir, "split"));
}

TEST(TrainCli, MicroBatchesThatCannotRunAreRefused) {
  TempDir dir("micro_bad");
  std::string file = write_config(dir, tiny_config("mbad"));
  for (const std::string& set : {std::string("train.micro_batches=3"), std::string("train.micro_batches=0"),
                                 std::string("train.micro_batches=64")}) {
    CliResult r = run_frugal("train --config " + file + " --set " + set + " --output " + dir.str("run"));
    EXPECT_EQ(r.exit_code, 2) << set << ": " << r.output;
    EXPECT_NE(r.output.find("train.micro_batches"), std::string::npos) << r.output;
  }
  CliResult mem_dfa = run_frugal("train --config " + file + " --set train.micro_batches=2 --set backward.default.mode=mem_dfa" +
                                 " --output " + dir.str("dfa"));
  EXPECT_EQ(mem_dfa.exit_code, 2) << mem_dfa.output;
  EXPECT_NE(mem_dfa.output.find("train.micro_batches"), std::string::npos) << mem_dfa.output;
}

TEST(TrainCli, EvalReportsTheCheckpointAccuracy) {
  TempDir dir("eval");
  std::string file = write_config(dir, tiny_config("e"));
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("run")).exit_code, 0);
  CliResult r = run_frugal("eval --config " + file + " --checkpoint " + dir.str("run/checkpoint"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto eval = nlohmann::json::parse(checkpoint_bytes(dir, "run", "eval.json"));
  auto summary = nlohmann::json::parse(read_text(dir.path() / "run/summary.json"));
  EXPECT_DOUBLE_EQ(eval["accuracy"].get<double>(), summary["test"]["accuracy"].get<double>());
  EXPECT_EQ(eval["samples"], 128);
  EXPECT_NE(r.output.find("accuracy"), std::string::npos);
}

TEST(TrainCli, ProfileWritesTheMemoryReport) {
  TempDir dir("profile");
  std::string file = write_config(dir, tiny_config("p"));
  CliResult r = run_frugal("profile --config " + file + " --steps 2 --output " + dir.str("prof"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto mem = nlohmann::json::parse(read_text(dir.path() / "prof/memory.json"));
  for (const char* key : {"planner", "peak_bytes", "lower_bound_bytes", "measured_peak_bytes", "peak_rss_bytes",
                          "by_category", "by_layer", "timeline"})
    EXPECT_TRUE(mem.contains(key)) << key;
  EXPECT_EQ(mem["planner"], "static");
  EXPECT_GE(mem["peak_bytes"].get<size_t>(), mem["lower_bound_bytes"].get<size_t>());
  std::string html = read_text(dir.path() / "prof/memory.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
}

TEST(TrainCli, BudgetTooSmallIsRefusedBeforeTraining) {
  TempDir dir("budget");
  auto cfg = tiny_config("b");
  cfg["memory"] = {{"budget_mb", 0.01}};
  std::string file = write_config(dir, cfg);
  CliResult r = run_frugal("profile --config " + file + " --output " + dir.str("prof"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("budget"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "prof/memory.json"));
}

}  // namespace
}  // namespace frugal::e2e
