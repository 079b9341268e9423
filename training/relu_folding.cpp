#include "training/relu_folding.h"

#include "ops/activation.h"

namespace frugal {

std::vector<int> find_relu_folds(const Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                                 bool training) {
  std::vector<BackwardMode*> raw;
  for (const auto& m : modes) raw.push_back(m.get());
  return find_relu_folds(graph, raw, training);
}

std::vector<int> find_relu_folds(const Graph& graph, const std::vector<BackwardMode*>& modes, bool training) {
  std::vector<int> folds(graph.size(), -1);
  for (int relu = 1; relu < graph.size(); ++relu) {
    const int producer = relu - 1;  // adjacent, so no lifetime stretches over other nodes
    const GraphNode& r = graph.node(relu);
    const GraphNode& p = graph.node(producer);
    auto* foldable = dynamic_cast<const ReluFoldable*>(p.layer.get());
    if (!foldable || !is_relu(*r.layer) || r.inputs != std::vector<int>{producer} ||
        graph.consumers(producer) != std::vector<int>{relu})
      continue;
    if (training) {
      const BackwardMode& pm = *modes.at(producer);
      const BackwardMode& rm = *modes.at(relu);
      if (!pm.reproduces_exact_backward(*p.layer) || !rm.reproduces_exact_backward(*r.layer)) continue;
      // A producer that reads relu(y) in its backward may only fold a ReLU that keeps it anyway.
      if (foldable->backward_relu_reads_output() && !rm.keeps(*r.layer).output) continue;
    }
    folds[producer] = relu;
  }
  return folds;
}

}  // namespace frugal
