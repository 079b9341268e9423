// MEM-DFA as the trainer's step (a step schedule, not a case inside the executor: docs/design.md). Chosen by backward.default.mode = "mem_dfa" (every layer then runs it):
// MemDfaRunner's two forward passes, each layer's optimizer stepped inside the second pass as soon as
// its block is done, as the spec asks (docs/algorithms.md §4). The executor still serves evaluation.
#pragma once
#include <string>

#include "training/schedules/mem_dfa_runner.h"
#include "training/schedules/per_layer_optimizer.h"
#include "training/schedules/step_schedule.h"

namespace frugal {

// Whether the executor's modes ask for the MEM-DFA schedule (DfaMode::link has made them all agree).
bool runs_mem_dfa(Executor& executor);

class MemDfaSchedule final : public StepSchedule {
 public:
  // `optimizer` holds node i's optimizer at index i; it must outlive the schedule.
  MemDfaSchedule(Executor& executor, PerLayerOptimizer& optimizer, const std::string& planner_name,
                 int64_t num_classes, float label_smoothing);

  const char* name() const override { return "mem_dfa"; }
  // One step, every block updated at learning rate `lr` right after its backward.
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                        float lr) override;
  // The same step without the updates: every trainable .grad holds its DFA gradient afterwards, and
  // stepping the optimizer then gives the same weights.
  StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) override;
  // MEM-DFA never plans the executor's training step: that would hold dfa's whole step memory.
  const StepDescription& plan(int64_t batch) override { return runner_.plan(batch).step; }
  const Planner& planner() const override { return runner_.planner(); }
  MemoryReport memory_report(Experiment& e, int64_t batch, nlohmann::json extra) override;
  bool times_layers() const override { return false; }

  MemDfaRunner& runner() { return runner_; }

 private:
  MemDfaRunner runner_;
  PerLayerOptimizer& optimizer_;
};

}  // namespace frugal
