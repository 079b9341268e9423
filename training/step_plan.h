// Describes one training (or evaluation) step of a graph as buffers with sizes, categories and
// lifetimes, and remembers which buffer plays which role for which node, so the executor can run the
// step on memory placed by any planner.
//
// Schedule of a training step with L nodes:
//   t = 0            data (the batch is copied in)
//   t = 1 + i        forward of node i
//   t = L + 1        loss (softmax cross-entropy and its gradient)
//   t = 2L + 1 - i   backward of node i
//   t = 2L + 2       optimizer
// An evaluation step stops after the loss.
#pragma once
#include <memory>
#include <vector>

#include "memory/step_description.h"
#include "training/graph.h"
#include "training/modes/backward_mode.h"

namespace frugal {

// The buffers a node uses, by id in the step description.
struct NodeBuffers {
  int32_t output = kNoBuffer;
  int32_t output_grad = kNoBuffer;          // gradient of the output value
  std::vector<int32_t> aux;                 // as layer.saved_needs().aux
  std::vector<int32_t> stash;               // as mode.stash_specs()
  int32_t forward_workspace = kNoBuffer;
  int32_t backward_workspace = kNoBuffer;
  // Per input: where this node's backward writes the input gradient. Either the input value's own
  // gradient buffer (this node writes it first) or a scratch buffer added into it afterwards.
  std::vector<int32_t> input_grad_target;
  std::vector<bool> input_grad_is_scratch;
  SavedNeeds keeps;                         // what the mode keeps from the forward
  // ReLU folding (training/relu_folding.h): the pair runs at the producer's forward and backward times.
  int folds = -1;        // the ReLU folded into this node; this node's own output is never stored
  int folded_into = -1;  // this ReLU runs inside that node; it has no passes of its own
};

struct StepPlan {
  bool training = true;
  int64_t batch = 0;
  StepDescription step;                     // transient buffers only: what the planner places
  std::vector<Shape> shapes;                // per buffer id
  std::vector<DType> dtypes;                // per buffer id
  int32_t input = kNoBuffer, labels = kNoBuffer, probs = kNoBuffer;
  std::vector<NodeBuffers> nodes;
  int32_t time_data = 0, time_loss = 0, time_optimizer = 0;
  int32_t forward_time(int node) const { return 1 + node; }
  int32_t backward_time(int node) const { return 2 * static_cast<int32_t>(nodes.size()) + 1 - node; }
};

// `modes` has one entry per node (ignored when !training). The graph must be set up for `batch`.
// `fold_relus`: fold ReLUs into their producers where training/relu_folding.h allows, unless that would
// raise the most bytes live at once (lower_bound_bytes).
StepPlan build_step_plan(Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                         int64_t batch, int64_t num_classes, bool training, bool fold_relus);

}  // namespace frugal
