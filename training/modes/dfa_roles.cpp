#include "training/modes/dfa_roles.h"

namespace frugal {

const char* dfa_role_name(DfaRole role) {
  switch (role) {
    case DfaRole::Output: return "output";
    case DfaRole::Injection: return "injection";
    case DfaRole::Local: return "local";
    case DfaRole::Idle: return "idle";
  }
  return "?";
}

std::vector<DfaNodePlan> plan_dfa(const Graph& graph) {
  const int L = graph.size();
  auto has_params = [&](int i) {
    for (Parameter* p : graph.node(i).layer->parameters())
      if (p->trainable) return true;
    return false;
  };
  auto feeds_weighted = [&](int i) {
    for (int c : graph.consumers(i))
      if (dynamic_cast<const WeightedLayer*>(graph.node(c).layer.get())) return true;
    return false;
  };
  // Nodes are in topological order, so one pass settles both flags.
  std::vector<bool> trainable_behind(L, false), injection(L, false);
  auto needs_grad = [&](int v) { return v != Graph::kInput && !injection[v] && trainable_behind[v]; };
  for (int i = 0; i < L; ++i) {
    bool behind = has_params(i);
    for (int u : graph.node(i).inputs) behind = behind || needs_grad(u);
    trainable_behind[i] = behind;
    injection[i] = i != graph.output() && behind && feeds_weighted(i);
  }
  std::vector<DfaNodePlan> plan(L);
  for (int i = 0; i < L; ++i) {
    DfaNodePlan& p = plan[i];
    bool any_input = false;
    for (int u : graph.node(i).inputs) {
      p.input_grad_needed.push_back(needs_grad(u));
      any_input = any_input || needs_grad(u);
    }
    if (i == graph.output()) p.role = DfaRole::Output;
    else if (injection[i]) p.role = DfaRole::Injection;
    else if (has_params(i) || any_input) p.role = DfaRole::Local;
    else p.role = DfaRole::Idle;
  }
  return plan;
}

int first_break_in_chain(const Graph& graph) {
  for (int i = 0; i < graph.size(); ++i) {
    const auto& in = graph.node(i).inputs;
    if (in.size() != 1 || in[0] != i - 1) return i;
    if (i + 1 < graph.size() && graph.consumers(i).size() != 1) return i;
  }
  return -1;
}

}  // namespace frugal
