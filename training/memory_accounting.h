// The memory report of a training step: the step's planned buffers (activations, stash, workspace,
// data), plus what persists across steps (weights, gradients, optimizer state, mode state), broken down
// per layer.
#pragma once
#include <nlohmann/json.hpp>

#include "memory/report.h"
#include "training/experiment.h"

namespace frugal {

// Plans (if needed) a training step for `batch` and reports it (through the experiment's step
// schedule). Call after at least one step for measured numbers that reflect a real step.
MemoryReport training_memory_report(Experiment& e, int64_t batch, nlohmann::json extra = {});
// The report of the executor's plain step.
MemoryReport executor_memory_report(Experiment& e, Executor& executor, int64_t batch, nlohmann::json extra);

// memory.budget_mb: refuses (MemoryBudgetError) a training step whose plan does not fit, before any
// step runs, naming the peak, the budget and the largest contributors.
void check_training_budget(Experiment& e, int64_t batch);

// The step's buffers plus persistent buffers spanning the whole step.
StepDescription full_step_description(Experiment& e, const StepDescription& step, size_t* persistent_bytes);

int64_t trainable_parameter_count(Graph& graph);

}  // namespace frugal
