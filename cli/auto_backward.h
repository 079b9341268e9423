// train and profile with backward.auto: the plan comes first (docs/memory_budget.md), from `frugal plan`
// run as a child process, because measuring each mode's gradient error runs exact training steps whose
// memory the run itself, held to its budget, must not count.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace frugal::cli {

// When `config` asks for backward.auto: plans into `run_dir` (auto_plan.json, backward_plan.json),
// replaces the config's backward section with the plan's and returns the plan (auto_plan.json).
// Returns null otherwise. MemoryBudgetError (exit 2) when the planner refused the budget.
nlohmann::json apply_auto_backward(nlohmann::json& config, const std::string& run_dir);

}  // namespace frugal::cli
