// The backward modes the budget planner may give each layer (docs/memory_budget.md), and the rules that
// tie some of them together.
//
// Per layer, candidate 0 is always exact. A candidate is offered only where its mode serves the layer
// (BackwardMode::supports), with two refinements:
//   - quantized on a Conv2d/Linear reads the code of the ReLU before it: offered only where the layer
//     reads a ReLU, and an assignment is valid only when that ReLU is quantized with the same bits
//     (and a quantized ReLU after a quantized BatchNorm shares its code, so their bits agree too);
//   - fewbit on a ReLU or LeakyReLU is exact with one bit whatever `bits` says: offered once.
// fa, dfa, outer_product and mem_dfa are offered only when the candidate list names them.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/graph.h"

namespace frugal {

struct ModeCandidate {
  nlohmann::json entry;  // a backward.layers entry without "match", e.g. {"mode": "quantized", "bits": 4}
  std::string spec;      // "quantized:bits=4"
  // The mode's backward is exact bit for bit on this layer (exact, recompute, fewbit on a ReLU, the
  // quantized ReLU whose mask is exact): no gradient error to measure.
  bool exact_gradients = false;
  // Only this layer's own parameter gradients change (dX stays exact: quantized and randomized_trace
  // on Conv2d/Linear), so one run can measure it on every layer at once.
  bool local = false;
};

using Assignment = std::vector<int>;  // per node: an index into its candidates

class CandidateSet {
 public:
  // `specs`: backward.auto.candidates (mode_spec.h). ConfigError naming the spec when a mode is unknown
  // or its knobs are bad.
  CandidateSet(Graph& graph, const std::vector<std::string>& specs, uint64_t seed);

  int size() const { return static_cast<int>(per_node_.size()); }
  const Graph& graph() const { return graph_; }
  const std::vector<ModeCandidate>& of(int node) const { return per_node_[node]; }
  const ModeCandidate& chosen(const Assignment& a, int node) const { return per_node_[node][a[node]]; }
  const std::vector<std::string>& specs() const { return specs_; }
  Assignment all_exact() const { return Assignment(per_node_.size(), 0); }
  // The candidate index of `spec` on `node`, or -1.
  int find(int node, const std::string& spec) const;

  // Whether the rules above hold.
  bool valid(const Assignment& a) const;
  // Makes `a` valid after node `changed` got its new candidate, by changing its neighbours: a quantized
  // Conv2d/Linear pulls its ReLU (and that ReLU's BatchNorm, if quantized) to its bits; a ReLU leaving
  // quantized sends its quantized readers to exact. Returns false when no such repair exists.
  bool repair(Assignment& a, int changed) const;

  // Every layer in `spec` where it serves (with its companions), the rest exact: the uniform
  // configuration `backward.default = spec` would give, in this set's terms. Empty when `spec` is not
  // one of the candidates.
  Assignment uniform(const std::string& spec) const;

  // backward.layers entries reproducing `a` (one per layer, matched by name).
  nlohmann::json backward_layers(const Assignment& a) const;

 private:
  int bits_of(const Assignment& a, int node, const std::string& mode) const;  // -1 when not in `mode`

  Graph& graph_;
  std::vector<std::string> specs_;
  std::vector<std::vector<ModeCandidate>> per_node_;
  std::vector<int> relu_producer_;  // per node: the ReLU node a Conv2d/Linear reads, or -1
  std::vector<int> bn_producer_;    // per ReLU node: the BatchNorm it reads, or -1
};

// The default candidate list: exact, recompute, quantized 8/4/2, fewbit 1-4, randomized_trace with 8,
// 32 and 128 probes.
const std::vector<std::string>& default_candidate_specs();

}  // namespace frugal
