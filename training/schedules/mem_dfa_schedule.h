// MEM-DFA as the trainer's step (DESIGN: network-level schedules are a strategy of the trainer, not a
// case inside the executor). Chosen by backward.default.mode = "mem_dfa" (every layer then runs it):
// MemDfaRunner's two forward passes, each layer's optimizer stepped inside the second pass as soon as
// its block is done, as the spec asks (ALGORITHMS.md §4). The executor still serves evaluation.
#pragma once
#include <string>

#include "training/schedules/mem_dfa_runner.h"
#include "training/schedules/per_layer_optimizer.h"

namespace frugal {

// Whether the executor's modes ask for the MEM-DFA schedule (DfaMode::link has made them all agree).
bool runs_mem_dfa(Executor& executor);

class MemDfaSchedule {
 public:
  // `optimizer` holds node i's optimizer at index i; it must outlive the schedule.
  MemDfaSchedule(Executor& executor, PerLayerOptimizer& optimizer, const std::string& planner_name,
                 int64_t num_classes, float label_smoothing);

  // One step, every block updated at learning rate `lr` right after its backward.
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed, float lr);
  // The same step without the updates: every trainable .grad holds its DFA gradient afterwards, and
  // stepping the optimizer then gives the same weights (for loops that time the optimizer apart).
  StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed);

  MemDfaRunner& runner() { return runner_; }

 private:
  MemDfaRunner runner_;
  PerLayerOptimizer& optimizer_;
};

}  // namespace frugal
