// Direct feedback alignment (Nøkland 2016; spec: docs/algorithms.md §4, TinyDFA). A network-level schedule:
// every layer must run it (backward.default.mode = "dfa", no per-layer overrides to other modes).
// The output error e = dL/dlogits [B, C] is sent straight to every injection point i (see
// dfa_roles.h) as P_i = e·D_i with D_i [C, n_i] fixed and random (feedback.h: scale/sqrt(n_i)),
// regenerated from (seed, node) into the backward workspace at each backward instead of being stored.
// The classifier learns from e exactly; inside a block the gradient flows exactly from the injection
// point; weighted layers skip dX (nothing reads it), so DFA does no backward-data GEMM at all.
//
// The same object serves "mem_dfa" (training/schedules/mem_dfa_runner.h): run by the executor it
// computes exactly dfa's gradients; the MEM-DFA runner drives it block by block.
#pragma once
#include "training/modes/backward_mode.h"
#include "training/modes/dfa_roles.h"
#include "training/modes/feedback.h"

namespace frugal {

class DfaMode : public BackwardMode {
 public:
  // `name`: "dfa" or "mem_dfa" (the schedule the config asked for); `node`: this layer's node id.
  DfaMode(std::string name, const FeedbackOptions& options, int node, uint64_t seed);

  std::string name() const override { return name_; }
  std::string describe() const override;  // e.g. "dfa(injection, uniform, scale=1)", "dfa(local)"
  bool supports(const Layer&) const override { return true; }
  SavedNeeds keeps(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer& layer) const override;
  // Checks that every node runs this same schedule (ConfigError naming the first that does not) and,
  // for mem_dfa, that the graph is a chain; then finds this node's role.
  void link(const Graph& graph, int node, const std::vector<BackwardMode*>& modes) override;
  bool reads_network_output_grad() const override { return plan_.role == DfaRole::Injection; }
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;

  DfaRole role() const { return plan_.role; }
  const DfaNodePlan& node_plan() const { return plan_; }
  // D_i, scaled, [classes, features] row-major: what an injection point's backward multiplies e with.
  void fill_feedback_matrix(const Kernels& kernels, int64_t classes, int64_t features, float* out) const;

 private:
  // The layer's exact backward, minus the input gradients nobody reads.
  void local_backward(Layer& layer, const BackwardArgs& args) const;

  std::string name_;
  FeedbackOptions options_;
  RngKey key_;
  DfaNodePlan plan_;
  int64_t classes_ = 0;
  bool linked_ = false;
};

}  // namespace frugal
