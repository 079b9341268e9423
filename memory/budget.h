// memory.budget_mb: a plan over budget fails before training starts, naming what did not fit.
#pragma once
#include <cstddef>
#include <string>

#include "memory/planner.h"
#include "memory/step_description.h"

namespace frugal {

// MemoryBudgetError when `planned_peak_bytes` exceeds `budget_bytes`, naming the planner, both sizes,
// the peak time and the categories and largest buffers live there. budget_bytes == 0: no budget.
// "at the peak (t=.. 'label', phase) live: <category> <bytes>; ... largest buffers: '<owner>' <bytes>, ..."
std::string describe_step_peak(const StepDescription& step);

void check_memory_budget(const StepDescription& step, const char* planner_name, size_t planned_peak_bytes,
                         size_t budget_bytes);

}  // namespace frugal
