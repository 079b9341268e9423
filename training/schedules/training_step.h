// One training step of an Experiment, whichever schedule its config chose: the executor's forward and
// backward followed by the optimizer over every parameter, or MEM-DFA's two passes with each block
// updated inside the second (mem_dfa_schedule.h).
#pragma once
#include "training/experiment.h"

namespace frugal {

// Forward, loss, backward and the update at the schedule's learning rate for `step`.
StepResult run_training_step(Experiment& e, const Tensor& images, const Tensor& labels, int64_t step, uint64_t seed);

// The same step without the update: afterwards every trainable parameter's .grad holds its gradient, and
// stepping e.optimizer gives run_training_step's weights (for loops that time the optimizer apart).
StepResult compute_training_gradients(Experiment& e, const Tensor& images, const Tensor& labels, int64_t step,
                                      uint64_t seed);

// Plans (if needed) a training step for `batch` samples without running it; the planner takes its memory.
const StepDescription& plan_training_step(Experiment& e, int64_t batch);
// The planner that places the training step's buffers.
const Planner& training_step_planner(Experiment& e);

}  // namespace frugal
