#include "training/recompute_segments.h"

namespace frugal {

std::vector<RecomputeSegment> find_recompute_segments(const Graph& graph, const RecomputeInputs& in) {
  const int L = graph.size();
  std::vector<RecomputeSegment> segments;
  for (int i = 0; i < L; ++i) {
    if (!in.recomputes[i] || (i > 0 && in.recomputes[i - 1])) continue;
    RecomputeSegment s;
    s.first = i;
    s.last = i;
    while (s.last + 1 < L && in.recomputes[s.last + 1]) ++s.last;
    segments.push_back(s);
  }
  std::vector<char> rerun(L);
  // A value read after the forward: from where it is kept, else from a re-run of its producer.
  auto need = [&](int v) {
    if (v != Graph::kInput && !in.value_kept[v]) rerun[unit_of(in, v)] = 1;
  };
  for (RecomputeSegment& s : segments) {
    std::fill(rerun.begin(), rerun.end(), 0);
    for (int r = s.first; r <= s.last; ++r)  // statistics exist only where a forward writes them
      if (!graph.node(r).layer->saved_needs().aux.empty()) rerun[r] = 1;
    for (int r = s.first; r <= s.last; ++r) {
      const SavedNeeds needs = graph.node(r).layer->saved_needs();
      const auto& ins = graph.node(r).inputs;
      for (size_t k = 0; k < ins.size(); ++k)
        if (needs.inputs.at(k)) need(ins[k]);
      if (needs.output) need(r);
    }
    // Producers come before their readers: one sweep down closes the set.
    for (int u = s.last; u >= 0; --u)
      if (rerun[u])
        for (int v : graph.node(u).inputs) need(v);
    for (int u = 0; u <= s.last; ++u)
      if (rerun[u]) s.units.push_back(u);
  }
  return segments;
}

}  // namespace frugal
