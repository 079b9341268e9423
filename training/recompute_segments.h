// Which forward passes a step re-runs for its recompute-mode nodes (training/modes/recompute.h).
//
// A segment is a maximal run of consecutive recompute nodes [first, last]. Right before the backward
// of `last`, the step re-runs, in node order, the forward of every node whose output or statistics the
// segment's backward reads and that nothing keeps from the forward; then the forward of whatever those
// re-runs read that is not kept either, back to the nearest kept tensors (or the network input). A
// recompute node that reads its own aux (BatchNorm statistics, a dropout mask, max-pool indices) is
// always re-run. Values that are kept from the forward anyway are read where they are, their lifetime
// stretched to the segment's backward: those are the segment's checkpoints.
//
// A ReLU folded into its producer (training/relu_folding.h) is re-run with it: the pair is one unit,
// named by the producer, whose output is the ReLU's value. Recompute nodes never fold.
#pragma once
#include <vector>

#include "training/graph.h"

namespace frugal {

struct RecomputeSegment {
  int first = 0, last = 0;  // the run of recompute nodes
  std::vector<int> units;   // nodes whose forward re-runs before last's backward, ascending
};

struct RecomputeInputs {
  std::vector<bool> recomputes;    // per node: its mode recomputes
  std::vector<bool> value_kept;    // per node: its value is kept from the forward for some backward
  std::vector<int> folded_into;    // per node: the producer it runs inside, or -1
};

std::vector<RecomputeSegment> find_recompute_segments(const Graph& graph, const RecomputeInputs& in);

// The node whose forward writes value `v` (a folded ReLU's producer, else v itself).
inline int unit_of(const RecomputeInputs& in, int v) { return in.folded_into[v] >= 0 ? in.folded_into[v] : v; }

}  // namespace frugal
