// End-to-end: `frugal bench` (training steps and the GEMM ceiling) writes JSON with the documented keys,
// `profile --time` splits the backward, and bad arguments fail with a clear message. Nothing here checks
// how fast anything is (benchmarks live in scripts/bench/).
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

std::string write_tiny_config(const TempDir& dir) {
  write_text(dir.path() / "config.json", tiny_config("bench").dump(2));
  return dir.str("config.json");
}

void expect_user_error(const CliResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << r.output;
}

TEST(BenchCli, TrainingStepsWriteJsonWithPerStepTimes) {
  TempDir dir("bench_train");
  CliResult r = run_frugal("bench --config " + write_tiny_config(dir) +
                           " --set model.dropout=0 --steps 3 --warmup 1 --threads 1 --json " + dir.str("out.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(read_text(dir.path() / "out.json"));
  for (const char* key : {"name", "model", "optimizer", "sample_shape", "classes", "batch", "threads", "blas",
                          "step_seconds", "median_step_seconds", "images_per_second", "flops_per_step",
                          "gflops_per_second", "peak_rss_bytes", "relu_folding", "data_seconds",
                          "median_data_seconds"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["kind"], "training");
  EXPECT_EQ(j["batch"], 32);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["model"]["dropout"], 0);
  EXPECT_EQ(j["sample_shape"], nlohmann::json({1, 8, 8}));
  auto steps = j["step_seconds"].get<std::vector<double>>();
  ASSERT_EQ(steps.size(), 3u);
  std::sort(steps.begin(), steps.end());
  EXPECT_DOUBLE_EQ(j["median_step_seconds"].get<double>(), steps[1]);
  EXPECT_NEAR(j["images_per_second"].get<double>(), 32 / steps[1], 1e-6 * 32 / steps[1]);
  // The MLP 64-32-4: 2 * 32 * (64*32 + 32*4) forward multiply-adds, three times that per step.
  EXPECT_GE(j["flops_per_step"].get<double>(), 3.0 * 2 * 32 * (64 * 32 + 32 * 4));
  EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0);
  EXPECT_EQ(j["relu_folding"], true);
  EXPECT_EQ(j["data_seconds"].size(), 3u);  // each timed step's batch, prepared before it
}

TEST(BenchCli, NoReluFoldingIsRecorded) {
  TempDir dir("bench_nofold");
  CliResult r = run_frugal("bench --config " + write_tiny_config(dir) + " --steps 1 --warmup 0 --threads 1 " +
                           "--no-relu-folding --json " + dir.str("out.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path() / "out.json"))["relu_folding"], false);
}

TEST(BenchCli, GemmWritesTheBestRateOverSizes) {
  TempDir dir("bench_gemm");
  CliResult r = run_frugal("bench --gemm --sizes 64,96 --threads 1 --json " + dir.str("gemm.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(read_text(dir.path() / "gemm.json"));
  EXPECT_EQ(j["kind"], "gemm");
  ASSERT_EQ(j["sizes"].size(), 2u);
  EXPECT_EQ(j["sizes"][0]["n"], 64);
  EXPECT_EQ(j["sizes"][1]["n"], 96);
  double best = 0;
  for (const auto& s : j["sizes"]) best = std::max(best, s["gflops_per_second"].get<double>());
  EXPECT_GT(best, 0);
  EXPECT_DOUBLE_EQ(j["best_gflops_per_second"].get<double>(), best);
}

TEST(BenchCli, ProfileTimeSplitsTheBackward) {
  TempDir dir("bench_profile");
  CliResult r = run_frugal("profile --config " + write_tiny_config(dir) + " --steps 2 --time --output " +
                           dir.str("prof"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"bwd-data ms", "bwd-wgt ms", "backward-data", "backward-weight", "optimizer"})
    EXPECT_NE(r.output.find(f), std::string::npos) << f << " not in: " << r.output;
}

TEST(BenchCli, BadArgumentsFailWithAClearMessage) {
  TempDir dir("bench_bad");
  const std::string cfg = write_tiny_config(dir);
  expect_user_error(run_frugal("bench"), "--config");
  expect_user_error(run_frugal("bench --gemm --config " + cfg), "either --config");
  expect_user_error(run_frugal("bench --gemm --set threads=1"), "--set");
  expect_user_error(run_frugal("bench --gemm --no-relu-folding"), "--no-relu-folding");
  expect_user_error(run_frugal("bench --config " + cfg + " --steps 0"), "--steps");
  expect_user_error(run_frugal("bench --gemm --sizes 0"), "--sizes");
  expect_user_error(run_frugal("bench --config " + cfg + " --set train.epoch=1"), "train.epoch");
  expect_user_error(run_frugal("profile --config " + cfg + " --steps 1 --time"), "--steps 2");
}

}  // namespace
}  // namespace frugal::e2e
