// The per-layer and per-phase time table of `frugal profile --time`.
#pragma once
#include <string>

#include "cli/timed_steps.h"
#include "training/executor.h"

namespace frugal::cli {

// `run` are the timed steps during which the executor's node timings were on.
std::string timing_table(Graph& graph, const Executor& executor, const TimedSteps& run);

}  // namespace frugal::cli
