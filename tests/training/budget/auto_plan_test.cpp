// backward.auto (training/budget/auto_plan.h): the plan fits the budget, its bytes are what the run
// then plans and measures, it does no worse than any uniform mode that fits, and a budget below the
// smallest reachable step is refused.
#include "training/budget/auto_plan.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/format.h"
#include "training/config/frugal_schema.h"
#include "training/memory_accounting.h"

namespace frugal {
namespace {

// No bound on time by default: the measured times vary from run to run, and the properties tested here
// (bytes, errors) must not depend on them.
// `split_batch`: whether the planner may split the batch into passes (off: the step stays whole, so
// the floor is that of the modes).
nlohmann::json small_cnn_config(double max_slowdown = 1e6, bool split_batch = false) {
  nlohmann::json c = {
      {"name", "auto_plan_test"},
      {"threads", 1},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", 16},
        {"test_batch_size", 32},
        {"synthetic", {{"shape", {1, 12, 12}}, {"classes", 4}, {"train_size", 64}, {"test_size", 32}}}}},
      {"model", {{"arch", "cnn"}, {"channels", {4, 8}}, {"hidden", {16}}}},
      {"backward", {{"auto", {{"candidates", {"exact", "recompute", "quantized:bits=4", "quantized:bits=2",
                                              "fewbit:bits=1", "randomized_trace:probes=2"}},
                             {"max_slowdown", max_slowdown},
                             {"split_batch", split_batch}}}}},
      {"output", {{"dir", ""}}}};
  return validate_config(c, frugal_config_schema(), "test");
}

AutoPlan plan_with_step_budget(size_t bytes, bool find_smallest = false, double max_slowdown = 1e6) {
  Experiment e = build_experiment(small_cnn_config(max_slowdown), ExperimentUse::Train);
  AutoPlanRequest r;
  r.step_budget_bytes = bytes;
  r.find_smallest = find_smallest;
  return plan_backward_for_budget(e, r);
}

TEST(AutoPlan, AmpleBudgetKeepsExactWithoutMeasuring) {
  const AutoPlan p = plan_with_step_budget(size_t{1} << 40, true);
  EXPECT_EQ(p.planned_step_bytes, p.exact_step_bytes);
  EXPECT_EQ(p.predicted_error, 0.0);
  EXPECT_EQ(p.measuring_seconds, 0.0);
  for (const auto& layer : p.backward.at("layers")) EXPECT_EQ(layer.at("mode"), "exact");
  EXPECT_LT(p.smallest_step_bytes, p.exact_step_bytes);
}

TEST(AutoPlan, FitsTheBudgetAndTheRunPlansAndMeasuresExactlyThat) {
  const AutoPlan ample = plan_with_step_budget(size_t{1} << 40, true);
  const size_t budget = (ample.smallest_step_bytes + ample.exact_step_bytes) / 2;
  const AutoPlan p = plan_with_step_budget(budget);
  ASSERT_TRUE(p.fits);
  EXPECT_LE(p.planned_step_bytes, budget);
  // A run with the plan's backward.layers plans and, after a step, measures the same step.
  Experiment run = build_experiment(config_with_plan(small_cnn_config(), p), ExperimentUse::Train);
  Loader loader(*run.train_data, train_loader_options(run.config));
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  run.step_schedule->train_step(b.images, b.labels, 0, 0, 0.01f);
  const MemoryReport report = training_memory_report(run, 16);
  EXPECT_EQ(report.peak_bytes, p.planned_step_bytes);
  EXPECT_EQ(report.measured_peak_bytes, p.planned_step_bytes);
  // No uniform configuration that fits has a smaller measured error.
  for (const UniformBaseline& u : p.uniform)
    if (u.fits) {
      EXPECT_LE(p.measured_error, u.measured_error) << u.spec;
    }
}

TEST(AutoPlan, TheSmallestReachableStepIsAFeasibleBudget) {
  // The refusal's floor is a promise: a budget of exactly that step gets a plan, within it.
  const AutoPlan ample = plan_with_step_budget(size_t{1} << 40, true);
  const AutoPlan p = plan_with_step_budget(ample.smallest_step_bytes);
  ASSERT_TRUE(p.fits);
  EXPECT_LE(p.planned_step_bytes, ample.smallest_step_bytes);
  for (const UniformBaseline& u : p.uniform)
    if (u.fits) {
      EXPECT_LE(p.measured_error, u.measured_error) << u.spec;
    }
}

TEST(AutoPlan, BudgetBelowTheSmallestReachableStepIsRefused) {
  const AutoPlan ample = plan_with_step_budget(size_t{1} << 40, true);
  try {
    plan_with_step_budget(ample.smallest_step_bytes - 1);
    FAIL() << "expected MemoryBudgetError";
  } catch (const MemoryBudgetError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(format_bytes(ample.smallest_step_bytes)), std::string::npos) << what;
    EXPECT_NE(what.find("live"), std::string::npos) << what;
  }
}

TEST(AutoPlan, BelowTheWholeBatchsFloorTheBatchIsSplit) {
  const AutoPlan ample = plan_with_step_budget(size_t{1} << 40, true);
  Experiment e = build_experiment(small_cnn_config(1e6, true), ExperimentUse::Train);
  AutoPlanRequest r;
  r.step_budget_bytes = ample.smallest_step_bytes - 1;
  const AutoPlan p = plan_backward_for_budget(e, r);
  EXPECT_GT(p.micro_batches, 1);
  EXPECT_EQ(16 % p.micro_batches, 0);
  EXPECT_LE(p.planned_step_bytes, r.step_budget_bytes);
  // Below the weights, gradients and optimizer state, nothing helps, and the refusal says what holds.
  r.step_budget_bytes = p.persistent_bytes - 1;
  try {
    plan_backward_for_budget(e, r);
    FAIL() << "expected MemoryBudgetError";
  } catch (const MemoryBudgetError& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("weights, gradients and optimizer state alone hold: " + format_bytes(p.persistent_bytes)),
              std::string::npos) << what;
  }
}

TEST(AutoPlan, ProcessBudgetRefusalNamesTheSmallestProcess) {
  // memory.budget_mb is for the whole process: the refusal gives the smallest step and the process
  // around it, one byte more than the budget asked for.
  const AutoPlan ample = plan_with_step_budget(size_t{1} << 40, true);
  const size_t smallest_process = ample.smallest_step_bytes + ample.outside_step_bytes;
  Experiment e = build_experiment(small_cnn_config(), ExperimentUse::Train);
  AutoPlanRequest r;
  r.process_budget_bytes = smallest_process - 1;
  try {
    plan_backward_for_budget(e, r);
    FAIL() << "expected MemoryBudgetError";
  } catch (const MemoryBudgetError& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("a process of " + format_bytes(smallest_process)), std::string::npos) << what;
  }
  r.process_budget_bytes = smallest_process;
  EXPECT_LE(plan_backward_for_budget(e, r).planned_step_bytes, ample.smallest_step_bytes);
}

}  // namespace
}  // namespace frugal
