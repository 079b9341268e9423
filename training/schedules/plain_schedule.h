// The plain training step: the executor's forward, loss and backward over the whole graph, then one
// optimizer step over every parameter.
#pragma once
#include "training/optim/optimizer.h"
#include "training/schedules/step_schedule.h"

namespace frugal {

class PlainSchedule final : public StepSchedule {
 public:
  // Both must outlive the schedule.
  PlainSchedule(Executor& executor, Optimizer& optimizer) : executor_(executor), optimizer_(optimizer) {}

  const char* name() const override { return "plain"; }
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                        float lr) override;
  StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) override {
    return executor_.train_step(images, labels, step, seed);
  }
  const StepDescription& plan(int64_t batch) override { return executor_.training_plan(batch).step; }
  const Planner& planner() const override { return executor_.training_planner(); }
  MemoryReport memory_report(Experiment& e, int64_t batch, nlohmann::json extra) override;
  bool times_layers() const override { return true; }

 private:
  Executor& executor_;
  Optimizer& optimizer_;
};

}  // namespace frugal
