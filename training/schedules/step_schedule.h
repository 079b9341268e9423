// How an experiment runs one training step: a strategy over the step runtime (training/step_runtime.h)
// chosen once from the config. The plain schedule is the executor's forward and backward followed by
// the optimizer over every parameter; MEM-DFA runs its two passes with each block updated inside the
// second (mem_dfa_schedule.h). Recomputation and data-parallel reduction plug in here too.
#pragma once
#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "memory/planner.h"
#include "memory/report.h"
#include "memory/step_description.h"
#include "training/executor.h"

namespace frugal {

struct Experiment;

class StepSchedule {
 public:
  virtual ~StepSchedule() = default;
  virtual const char* name() const = 0;  // "plain", "mem_dfa"

  // Forward, loss, backward and the update at learning rate `lr`. `step` and `seed` key the random
  // numbers (dropout masks, probes).
  virtual StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                float lr) = 0;
  // The same step without the update: afterwards every trainable parameter's .grad holds its gradient,
  // and stepping the experiment's optimizer gives train_step's weights (for loops that time the
  // optimizer apart).
  virtual StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) = 0;

  // Plans (if needed) a step for `batch` samples without running it; the planner then holds its memory.
  virtual const StepDescription& plan(int64_t batch) = 0;
  virtual const Planner& planner() const = 0;
  // The memory report of a step for `batch` (training/memory_accounting.h).
  virtual MemoryReport memory_report(Experiment& e, int64_t batch, nlohmann::json extra) = 0;
  // Whether the executor's per-layer timing (Executor::set_timing) sees this schedule's steps.
  virtual bool times_layers() const = 0;
};

}  // namespace frugal
