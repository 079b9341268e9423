#include "training/schedules/training_step.h"

namespace frugal {

StepResult run_training_step(Experiment& e, const Tensor& images, const Tensor& labels, int64_t step, uint64_t seed) {
  const float lr = e.schedule->lr_at(step);
  if (e.mem_dfa) return e.mem_dfa->train_step(images, labels, static_cast<uint64_t>(step), seed, lr);
  StepResult r = compute_training_gradients(e, images, labels, step, seed);
  e.optimizer->step(lr);
  return r;
}

StepResult compute_training_gradients(Experiment& e, const Tensor& images, const Tensor& labels, int64_t step,
                                      uint64_t seed) {
  if (e.mem_dfa) return e.mem_dfa->gradient_step(images, labels, static_cast<uint64_t>(step), seed);
  return e.executor->train_step(images, labels, static_cast<uint64_t>(step), seed);
}

const StepDescription& plan_training_step(Experiment& e, int64_t batch) {
  // MEM-DFA never plans the executor's training step: that would hold dfa's whole step memory.
  return e.mem_dfa ? e.mem_dfa->runner().plan(batch).step : e.executor->training_plan(batch).step;
}

const Planner& training_step_planner(Experiment& e) {
  return e.mem_dfa ? e.mem_dfa->runner().planner() : e.executor->training_planner();
}

}  // namespace frugal
