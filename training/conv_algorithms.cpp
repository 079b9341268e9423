#include "training/conv_algorithms.h"

#include <vector>

#include "ops/conv.h"

namespace frugal {

bool fit_winograd_to_memory(Graph& graph, const std::function<size_t()>& step_peak) {
  std::vector<Conv2d*> winograd;  // in node order
  for (int i = 0; i < graph.size(); ++i)
    if (auto* conv = dynamic_cast<Conv2d*>(&graph.layer(i)); conv && conv->uses_winograd()) winograd.push_back(conv);
  if (winograd.empty()) return false;
  for (Conv2d* conv : winograd) conv->set_winograd(false);
  const size_t without = step_peak();
  for (Conv2d* conv : winograd) conv->set_winograd(true);
  bool changed = false;
  for (auto it = winograd.rbegin(); it != winograd.rend() && step_peak() > without; ++it) {
    (*it)->set_winograd(false);
    changed = true;
  }
  return changed;
}

}  // namespace frugal
