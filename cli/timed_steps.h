// The training-step loop shared by `frugal profile` and `frugal bench`: a few warm-up steps, then timed
// steps on the experiment's training data (each batch prepared before its step, without prefetching,
// and staged to the model's device one step ahead: training/batch_stager.h), each the step schedule's
// gradient step (training/schedules/step_schedule.h) followed by the optimizer step; on a GPU each part
// is timed to the end of its kernels.
#pragma once
#include <vector>

#include "training/experiment.h"

namespace frugal::cli {

struct TimedSteps {
  std::vector<double> step_seconds;       // per timed step: gradients and optimizer
  std::vector<double> optimizer_seconds;  // per timed step: the optimizer alone
  std::vector<double> data_seconds;       // per timed step: preparing its batch (before, untimed)
  int64_t batch = 0;
  // Device memory the batch staging held (BatchStager::device_bytes; 0 on the CPU), freed on return.
  size_t staging_bytes = 0;
};

// Runs `warmup` untimed steps, then `steps` timed ones. With `per_layer`, the executor also times each
// node over the timed steps (Executor::node_timings). Checks memory.budget_mb before the first step.
TimedSteps run_timed_steps(Experiment& e, const nlohmann::json& config, int warmup, int steps, bool per_layer);

double median(std::vector<double> values);

}  // namespace frugal::cli
