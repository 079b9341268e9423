// randomized_trace: conv (groups 1) and linear layers keep a sketch of their input instead of the input
// (XConv, docs/algorithms.md §1). dX and the bias gradient stay exact; dW is an unbiased trace
// estimate from the sketch and dY, with probes regenerated from (seed, layer index, step).
//
// Stash per layer, fp32, against 4*N*C*H*W bytes (linear 4*N*F) for exact:
//   conv   independent 4*N*C*r (ratio r/(H*W));  gaussian/orthogonal 4*N*r (ratio r/(C*H*W))
//   linear independent 4*r*F  (ratio r/N);       gaussian/orthogonal 4*N*r (ratio r/F)
// The saving only shows when no neighbour keeps the input anyway: a ReLU before the conv keeps its
// output (= this input) under exact backprop. So as `backward.default` this mode gives ReLU and
// LeakyReLU layers fewbit with 1 bit (their exact derivative as a 1-bit mask, bit-identical to exact);
// link() warns when a neighbour still keeps the input (e.g. an explicit exact override).
#pragma once
#include <vector>

#include "ops/trace_probes.h"
#include "training/modes/backward_mode.h"

namespace frugal {

class RandomizedTraceMode : public BackwardMode {
 public:
  // `options.key` is ignored: the key comes from (seed, layer_index) and the step.
  RandomizedTraceMode(const TraceProbes& options, int layer_index, uint64_t seed);

  std::string name() const override { return "randomized_trace"; }
  std::string describe() const override;
  bool supports(const Layer& layer) const override;
  nlohmann::json default_fallback(const Layer& layer) const override;
  SavedNeeds keeps(const Layer& layer) const override;
  std::vector<StashSpec> stash_specs(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer& layer) const override;
  void link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) override;
  void begin_step(int64_t step) override { step_ = step; }
  void after_forward(Layer& layer, const ForwardArgs& args, const std::vector<Tensor*>& stash) override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  // Its weight-gradient estimator overwrites dW.
  bool accumulates_param_grads(const Layer&) const override { return false; }

  // The probes of the current step.
  TraceProbes probes() const;

 private:
  TraceProbes options_;
  int layer_index_;
  uint64_t seed_;
  int64_t step_ = 0;
  Tensor scratch_;  // probe blocks for the sketch, on the layer's device; made on first use
  mutable bool warned_no_saving_ = false;
};

const char* probe_mode_name(ProbeMode mode);
const char* probe_distribution_name(ProbeDistribution distribution);

}  // namespace frugal
