// The per-layer time table of `frugal profile --time`.
#pragma once
#include <string>

#include "training/executor.h"

namespace frugal::cli {

std::string timing_table(Graph& graph, const Executor& executor, int steps, double optimizer_seconds,
                         double step_seconds, int64_t batch);

}  // namespace frugal::cli
