// Winograd convolutions (ops/cpu/conv_winograd.h) are faster than the other conv kernels and need more
// workspace. A step keeps them only where that workspace does not raise the most bytes it holds at
// once: conv by conv from the first, each keeps them if the step, with it and the convs kept before
// it, needs no more than it would without any.
#pragma once
#include <cstddef>
#include <functional>

#include "training/graph.h"

namespace frugal {

// `step_peak` gives the live-bytes peak of a step planned for the graph as it is set now (for the
// batch it is set up for). Only ever turns Winograd off; returns whether it turned any off.
bool fit_winograd_to_memory(Graph& graph, const std::function<size_t()>& step_peak);

}  // namespace frugal
