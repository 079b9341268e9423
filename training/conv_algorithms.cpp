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
  if (step_peak() <= without) return false;
  for (Conv2d* conv : winograd) conv->set_winograd(false);
  // One conv at a time, first to last: each keeps Winograd unless the step with it (and the ones kept
  // before it) would hold more than the step without any. The workspace of a conv far from the peak
  // costs nothing, so turning convs off from the last until the peak fits would give up convs for free.
  bool changed = false;
  for (Conv2d* conv : winograd) {
    conv->set_winograd(true);
    if (step_peak() > without) {
      conv->set_winograd(false);
      changed = true;
    }
  }
  return changed;
}

}  // namespace frugal
