// Which ReLUs a step runs inside the layer before them (ops/layer.h ReluFoldable): a BatchNorm or an Add
// whose only reader is the ReLU right after it. The pair then makes one pass where it made two, forward
// and backward, and neither the unrectified output nor its gradient is ever stored. Folding never
// changes a result: in training it needs both nodes' backward to be exactly the layers' own.
#pragma once
#include <memory>
#include <vector>

#include "training/graph.h"
#include "training/modes/backward_mode.h"

namespace frugal {

// Per node: the id of the ReLU folded into it, or -1. `modes` is ignored when !training.
std::vector<int> find_relu_folds(const Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                                 bool training);
std::vector<int> find_relu_folds(const Graph& graph, const std::vector<BackwardMode*>& modes, bool training);

}  // namespace frugal
