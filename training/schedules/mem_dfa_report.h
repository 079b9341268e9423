// The memory report of a MEM-DFA training step: the runner's planned buffers plus what persists across
// steps (weights, gradients, optimizer state), per layer, as training_memory_report gives for the executor.
#pragma once
#include <nlohmann/json.hpp>

#include "memory/report.h"
#include "training/experiment.h"
#include "training/schedules/mem_dfa_runner.h"

namespace frugal {

MemoryReport mem_dfa_memory_report(Experiment& e, MemDfaRunner& runner, int64_t batch, nlohmann::json extra = {});

}  // namespace frugal
