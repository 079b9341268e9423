// The memory report of a training step: the step's planned buffers (activations, stash, workspace,
// data), plus what persists across steps (weights, gradients, optimizer state, mode state), broken down
// per layer.
#pragma once
#include <nlohmann/json.hpp>

#include "memory/report.h"
#include "training/experiment.h"

namespace frugal {

// Plans (if needed) a training step for `batch` and reports it (through the experiment's step
// schedule). Call after at least one step for measured numbers that reflect a real step. On a GPU the
// report's device section holds the plan's device bytes (the step arena, the persistent buffers on the
// device and `staging_bytes` of batch staging, BatchStager::device_bytes) beside what the device's
// allocator handed out, the runtime's own bytes and the driver's peak (docs/gpu.md).
MemoryReport training_memory_report(Experiment& e, int64_t batch, nlohmann::json extra = {},
                                    size_t staging_bytes = 0);
// The report of the executor's plain step.
MemoryReport executor_memory_report(Experiment& e, Executor& executor, int64_t batch, nlohmann::json extra);

// memory.budget_mb: refuses (MemoryBudgetError) a training step whose plan does not fit, before any
// step runs, naming the peak, the budget and the largest contributors.
void check_training_budget(Experiment& e, int64_t batch);

// The step's buffers plus persistent buffers spanning the whole step.
StepDescription full_step_description(Experiment& e, const StepDescription& step, size_t* persistent_bytes);

int64_t trainable_parameter_count(Graph& graph);

// The persistent buffers that live in `device`'s memory (weights, gradients, mode and optimizer state;
// the optimizer's step counter stays on the host), in the allocator's 64-byte units.
size_t persistent_device_bytes(Experiment& e, Device device);

}  // namespace frugal
