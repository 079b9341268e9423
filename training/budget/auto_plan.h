// backward.auto and `frugal plan`: every layer's backward mode chosen so that the run fits a memory
// budget with the least predicted gradient error (docs/memory_budget.md). Ties together the candidate
// modes (candidates.h), the exact byte count of each assignment (assignment_planner.h), the measured
// error and time of each (layer, mode) (measurements.h) and the search (search.h).
//
// The plan is written as the backward.layers entries that reproduce it, so it can be read, edited and
// reused without backward.auto.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/experiment.h"

namespace frugal {

struct AutoOptions {
  std::vector<std::string> candidates;  // mode specs (mode_spec.h)
  double max_slowdown = 2.0;            // predicted step time over exact's; 0 = unbounded
  int error_batches = 1;
  bool split_batch = true;  // try more train.micro_batches where no assignment fits
  std::string cache_dir;  // "" = the run directory
};

// Whether the config asks for backward.auto, and its options (defaults filled in).
bool wants_auto_backward(const nlohmann::json& config);
AutoOptions auto_options(const nlohmann::json& config);

struct AutoPlanRequest {
  size_t process_budget_bytes = 0;  // memory.budget_mb: the whole process
  size_t step_budget_bytes = 0;     // or the training step alone (arena and persistent buffers); wins when set
  std::string run_dir;              // where measurements are cached (unless cache_dir says otherwise)
  bool compare_uniform = true;      // measure every uniform single-mode config that fits, side by side
  bool find_smallest = false;       // search for the smallest reachable step even when the budget is ample
};

struct PlanRow {
  std::string layer, kind, spec;
  size_t bytes_saved = 0;         // how much larger the step arena would be with this layer exact
  double predicted_error = 0;     // the layer's measured error in its mode
  double predicted_seconds = 0;   // its forward, backward and re-runs
};

struct UniformBaseline {
  std::string spec;
  size_t step_bytes = 0;
  bool fits = false;
  double predicted_error = 0;
  double measured_error = -1, measured_cosine = 0;  // -1: not measured (does not fit)
  double predicted_seconds = 0;
};

struct AutoPlan {
  size_t process_budget_bytes = 0, step_budget_bytes = 0;
  size_t outside_step_bytes = 0;  // predicted process memory besides the training step
  size_t persistent_bytes = 0;    // weights, gradients, optimizer and mode state
  size_t exact_step_bytes = 0, planned_step_bytes = 0;
  size_t smallest_step_bytes = 0;  // searched only when no uniform configuration fits; 0 = not searched
  bool fits = false;
  double predicted_error = 0, measured_error = 0, measured_cosine = 1;
  double predicted_seconds = 0, exact_seconds = 0;
  std::string chosen_by = "search";  // or "uniform <spec>" when a uniform config did better
  nlohmann::json backward;           // {"default": {"mode": "exact"}, "layers": [...]}
  std::vector<PlanRow> rows;
  std::vector<UniformBaseline> uniform;
  double planning_seconds = 0, measuring_seconds = 0;  // wall time
  double planning_cpu_seconds = 0, measuring_cpu_seconds = 0;  // CPU time of the process
  bool measurements_cached = false;
  uint64_t plans_built = 0, plan_lookups = 0;
  int64_t batch = 0;
  // train.micro_batches of the plan: each step in that many passes of batch / micro_batches samples.
  int micro_batches = 1;
  double micro_batch_error = 0;     // of the all-exact step split so, against the whole batch's gradient
  double micro_batch_slowdown = 1;  // its step time over the unsplit all-exact step's, measured

  nlohmann::json json() const;
};

// Plans for the experiment `e` (built for training from a config with backward.auto: its
// backward.layers entries stay fixed). Where no assignment fits at its train.micro_batches, the batch
// is split into 2, 4, ... times as many passes. MemoryBudgetError (exit 2) when the budget is below the
// smallest step the candidates reach at every count, naming that step and what holds it (or that the
// weights, gradients and optimizer state alone exceed it).
AutoPlan plan_backward_for_budget(Experiment& e, const AutoPlanRequest& request);

// The table: layer, mode, bytes saved, predicted gradient error, predicted time; then the totals and
// the uniform configurations side by side.
std::string auto_plan_table(const AutoPlan& plan);
// auto_plan.json (everything) and backward_plan.json ({"backward": ...}, to paste or extend) in `dir`.
void write_auto_plan(const AutoPlan& plan, const std::string& dir);
// `config` with its backward section replaced by the plan's (backward.auto dropped) and the plan's
// train.micro_batches.
nlohmann::json config_with_plan(const nlohmann::json& config, const AutoPlan& plan);

}  // namespace frugal
