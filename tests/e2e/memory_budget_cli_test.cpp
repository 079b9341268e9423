// End-to-end: the process section of memory.json, `frugal plan`, and train with backward.auto.
#include <gtest/gtest.h>

#include "tests/e2e/cli_runner.h"

// AddressSanitizer's shadow memory and quarantine sit in the process's resident set, which the
// process prediction (docs/memory_budget.md) does not model: the tests that compare measured RSS with
// it, or budget the whole process tightly, skip in the sanitized run (scripts/test.sh --sanitize).
#if defined(__SANITIZE_ADDRESS__)
#define FRUGAL_RSS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FRUGAL_RSS_UNDER_ASAN 1
#endif
#endif
#ifdef FRUGAL_RSS_UNDER_ASAN
#define FRUGAL_SKIP_UNDER_ASAN() GTEST_SKIP() << "resident set inflated by AddressSanitizer"
#else
#define FRUGAL_SKIP_UNDER_ASAN() (void)0
#endif

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

std::string write_config(const TempDir& dir, const nlohmann::json& config) {
  write_text(dir.path() / "config.json", config.dump(2));
  return dir.str("config.json");
}

// A config whose process is mostly its training step (a wide MLP), so the prediction is tested on
// more than the start-up resident set.
nlohmann::json wide_mlp(const std::string& name) {
  nlohmann::json c = tiny_config(name);
  c["data"]["batch_size"] = 256;
  c["data"]["test_batch_size"] = 1024;
  c["data"]["synthetic"] = {{"shape", {1, 28, 28}}, {"classes", 10}, {"train_size", 2048}, {"test_size", 1024}};
  c["model"] = {{"arch", "mlp"}, {"hidden", {1536, 1536}}};
  c["train"] = {{"epochs", 1}, {"max_steps", 3}, {"log_every", 1}};
  return c;
}

TEST(ProcessMemoryCli, MeasuredPeakRssIsWithinTenPercentOfThePrediction) {
  FRUGAL_SKIP_UNDER_ASAN();
  TempDir dir("process");
  CliResult r = run_frugal("train --config " + write_config(dir, wide_mlp("p")) + " --output " + dir.str("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto mem = nlohmann::json::parse(read_text(dir.path() / "run/memory.json"));
  ASSERT_TRUE(mem.contains("process")) << mem.dump();
  const auto& p = mem["process"];
  for (const char* part : {"code_and_libraries_bytes", "dataset_bytes", "loader_bytes", "training_step_bytes",
                           "evaluation_bytes", "blas_openmp_bytes", "rest_bytes", "total_bytes"})
    EXPECT_TRUE(p["predicted"].contains(part)) << part;
  EXPECT_EQ(p["predicted"]["evaluation_bytes"], 0) << "evaluation runs in the training arena";
  EXPECT_EQ(p["measured"]["training_step_bytes"], p["predicted"]["training_step_bytes"]);
  const double ratio = p["measured_over_predicted"].get<double>();
  EXPECT_GT(ratio, 0.9) << p.dump(1);
  EXPECT_LT(ratio, 1.1) << p.dump(1);
  // The step is most of the process here: the prediction is not the start-up resident set alone.
  EXPECT_GT(p["predicted"]["training_step_bytes"].get<double>(), 0.5 * p["predicted"]["total_bytes"].get<double>());
}

TEST(ProcessMemoryCli, BudgetIsForTheProcess) {
  TempDir dir("process_budget");
  nlohmann::json c = wide_mlp("b");
  CliResult probe = run_frugal("train --config " + write_config(dir, c) + " --output " + dir.str("probe"));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  const auto p = nlohmann::json::parse(read_text(dir.path() / "probe/memory.json"))["process"]["predicted"];
  // Room for the training step but not for the rest of the process: refused, naming the parts.
  c["memory"]["budget_mb"] = (p["training_step_bytes"].get<double>() + 1048576.0) / 1048576.0;
  CliResult r = run_frugal("train --config " + write_config(dir, c) + " --output " + dir.str("run"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("process is predicted to need"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("code and libraries"), std::string::npos) << r.output;
}

nlohmann::json small_cnn(const std::string& name) {
  nlohmann::json c = tiny_config(name);
  c["data"]["synthetic"] = {{"shape", {1, 12, 12}}, {"classes", 4}, {"train_size", 256}, {"test_size", 128}};
  c["model"] = {{"arch", "cnn"}, {"channels", {4, 8}}, {"hidden", {16}}};
  c["backward"]["auto"] = {{"candidates", {"exact", "recompute", "quantized:bits=4", "fewbit:bits=1"}}};
  c["train"] = {{"epochs", 1}, {"log_every", 4}};
  return c;
}

TEST(PlanCli, PrintsTheTableWritesTheEntriesAndRefusesTooSmallABudget) {
  TempDir dir("plan");
  const std::string file = write_config(dir, small_cnn("plan"));
  CliResult ample = run_frugal("plan --config " + file + " --step-budget-mb 1000 --smallest --output " + dir.str("a"));
  ASSERT_EQ(ample.exit_code, 0) << ample.output;
  for (const char* column : {"layer", "mode", "bytes saved", "pred. error", "pred. ms"})
    EXPECT_NE(ample.output.find(column), std::string::npos) << column;
  auto plan = nlohmann::json::parse(read_text(dir.path() / "a/auto_plan.json"));
  auto entries = nlohmann::json::parse(read_text(dir.path() / "a/backward_plan.json"));
  EXPECT_EQ(entries["backward"]["layers"].size(), plan["layers"].size());
  EXPECT_EQ(entries["train"]["micro_batches"], 1);
  // Below the weights, gradients and optimizer state: no modes and no split of the batch help.
  const double persistent_mb = plan["persistent_bytes"].get<double>() / 1048576.0;
  CliResult tight = run_frugal("plan --config " + file + " --step-budget-mb " + std::to_string(persistent_mb * 0.9) +
                               " --output " + dir.str("b"));
  EXPECT_EQ(tight.exit_code, 2) << tight.output;
  EXPECT_NE(tight.output.find("weights, gradients and optimizer state alone"), std::string::npos) << tight.output;
}

TEST(PlanCli, SplitsTheBatchWhenNoAssignmentFitsTheWholeBatch) {
  TempDir dir("plan_split");
  const std::string file = write_config(dir, small_cnn("split"));
  CliResult ample = run_frugal("plan --config " + file + " --step-budget-mb 1000 --smallest --output " + dir.str("a"));
  ASSERT_EQ(ample.exit_code, 0) << ample.output;
  auto whole = nlohmann::json::parse(read_text(dir.path() / "a/auto_plan.json"));
  const double smallest = whole["smallest_step_bytes"].get<double>();
  CliResult r = run_frugal("plan --config " + file + " --step-budget-mb " + std::to_string(smallest * 0.9 / 1048576.0) +
                           " --output " + dir.str("b"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("train.micro_batches"), std::string::npos) << r.output;
  auto split = nlohmann::json::parse(read_text(dir.path() / "b/auto_plan.json"));
  const int k = split["micro_batches"].get<int>();
  EXPECT_GT(k, 1);
  EXPECT_EQ(32 % k, 0);
  EXPECT_LE(split["planned_step_bytes"].get<double>(), smallest * 0.9);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path() / "b/backward_plan.json"))["train"]["micro_batches"], k);
  // The plan's step, run as written: planned as the planner said, measured as planned.
  const auto entries = nlohmann::json::parse(read_text(dir.path() / "b/backward_plan.json"));
  CliResult prof = run_frugal("profile --config " + file + " --steps 2 --set backward.auto=false" +
                              " --set train.micro_batches=" + std::to_string(k) +
                              " --set 'backward.layers=" + entries["backward"]["layers"].dump() + "' --output " +
                              dir.str("p"));
  ASSERT_EQ(prof.exit_code, 0) << prof.output;
  auto mem = nlohmann::json::parse(read_text(dir.path() / "p/memory.json"));
  EXPECT_EQ(mem["peak_bytes"].get<double>(), split["planned_step_bytes"].get<double>());
  EXPECT_EQ(mem["measured_peak_bytes"], mem["peak_bytes"]);
}

// A small residual network, whose smallest step (2-bit and recomputed activations) is about half its
// exact one, so that a budget between the two leaves a margin of a MiB on either side: far more than the
// few pages by which the start-up resident set of two processes of the same binary differ.
nlohmann::json small_resnet(const std::string& name) {
  nlohmann::json c = small_cnn(name);
  c["data"]["synthetic"] = {{"shape", {3, 16, 16}}, {"classes", 4}, {"train_size", 128}, {"test_size", 64}};
  c["data"]["normalize"] = {{"mean", {0.5, 0.5, 0.5}}, {"std", {0.2, 0.2, 0.2}}};
  c["model"] = {{"arch", "resnet"}, {"depth", 8}, {"width", 8}};
  return c;
}

TEST(PlanCli, TrainWithBackwardAutoPlansFirstAndSaysSo) {
  FRUGAL_SKIP_UNDER_ASAN();
  TempDir dir("auto_train");
  nlohmann::json c = small_resnet("auto");
  CliResult probe = run_frugal("plan --config " + write_config(dir, c) + " --step-budget-mb 1000 --smallest --output " +
                               dir.str("probe"));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  auto ample = nlohmann::json::parse(read_text(dir.path() / "probe/auto_plan.json"));
  const double smallest = ample["smallest_step_bytes"].get<double>(), exact = ample["exact_step_bytes"].get<double>();
  ASSERT_GT(exact - smallest, 1 << 20) << "the test needs room between the smallest and the exact step";
  // A process budget between the smallest and the exact step, on top of the rest of the process.
  const double step = (smallest + exact) / 2;
  c["memory"]["budget_mb"] = (ample["outside_step_bytes"].get<double>() + step) / 1048576.0;
  CliResult r = run_frugal("train --config " + write_config(dir, c) + " --output " + dir.str("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("backward.auto"), std::string::npos) << r.output;
  auto mem = nlohmann::json::parse(read_text(dir.path() / "run/memory.json"));
  ASSERT_TRUE(mem["extra"].contains("backward_auto")) << mem["extra"].dump();
  EXPECT_EQ(mem["peak_bytes"], mem["extra"]["backward_auto"]["planned_step_bytes"]);
  EXPECT_LT(mem["extra"]["backward_auto"]["planned_step_bytes"].get<double>(), exact) << "cheaper modes were chosen";
  EXPECT_EQ(mem["measured_peak_bytes"], mem["peak_bytes"]);
  auto saved = nlohmann::json::parse(read_text(dir.path() / "run/config.json"));
  EXPECT_FALSE(saved["backward"].contains("auto")) << "the run's config holds the plan it trained with";
  EXPECT_TRUE(fs::exists(dir.path() / "run/backward_plan.json"));
}

}  // namespace
}  // namespace frugal::e2e
