// Where direct feedback alignment injects the output error, and which backward pieces still run.
//
// Rule: a value is an injection point when it feeds a weighted layer (Linear, Conv2d) and some layer
// with trainable parameters lies behind it, counting back only up to the previous injection point.
// So a block "conv-BN-ReLU-pool" gets its signal at the pool output (or at the Flatten that follows
// it), an MLP block "linear-ReLU(-dropout)" at its last layer. The injection point's backward ignores
// the gradient arriving from above and uses P = e·D instead (e = dL/dlogits, D fixed random); from
// there the gradient flows exactly ("locally") through the block down to the previous injection point.
// Consequences: weighted layers never compute dX (their input is an injection point or has nothing
// trainable behind it); layers with nothing trainable behind them (a leading Flatten) run no backward.
#pragma once
#include <vector>

#include "training/graph.h"

namespace frugal {

enum class DfaRole {
  Output,     // the classifier: the true error, exactly
  Injection,  // block output: P = e·D replaces the incoming gradient
  Local,      // inside a block: exact backward from the incoming gradient
  Idle,       // nothing trainable depends on its gradient: no backward at all
};
const char* dfa_role_name(DfaRole role);

struct DfaNodePlan {
  DfaRole role = DfaRole::Idle;
  std::vector<bool> input_grad_needed;  // per input: does anyone read the gradient this node would write
};

// One entry per node of `graph`, in node order.
std::vector<DfaNodePlan> plan_dfa(const Graph& graph);

// The first node that keeps `graph` from being a chain (a node reading anything but the one before it,
// or a value read twice); -1 for a chain. MEM-DFA's block-by-block schedule needs a chain.
int first_break_in_chain(const Graph& graph);

}  // namespace frugal
