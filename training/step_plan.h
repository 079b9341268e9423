// Describes one training (or evaluation) step of a graph as buffers with sizes, categories and
// lifetimes, and remembers which buffer plays which role for which node, so the executor can run the
// step on memory placed by any planner.
//
// Schedule of a training step with L nodes:
//   t = 0            data (the batch is copied in)
//   t = 1 + i        forward of node i
//   t = L + 1        loss (softmax cross-entropy and its gradient)
//   then the backward of nodes L-1 .. 0, each preceded by the forward re-runs of its recompute
//   segment when it is the last node of one (training/recompute_segments.h)
//   last             optimizer
// Without recompute-mode nodes the backward of node i is at t = 2L + 1 - i. An evaluation step stops
// after the loss.
//
// Lifetimes in a chain conv -> relu -> linear under exact modes (# = live; labels and loss/probs left out):
//   t:               0 1 2 3 4 5 6 7 8
//   input            # # # # # # # #      conv's weight gradient reads it
//   conv/output        # #                read by relu's forward only
//   relu/output          # # # # #        read by relu's and linear's backward
//   linear/output          # #            the logits
//   linear/grad              # #          dL/dlogits
//   relu/grad                  # # #      relu turns it into conv's output gradient in place
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
  // What the backward reads: per input, the buffer holding the forward input (kNoBuffer: not read);
  // the output; per aux, the statistics (kNoBuffer: not kept). Forward buffers, or for a
  // recompute-mode node the buffers its segment's re-run filled.
  std::vector<int32_t> saved_inputs;
  int32_t saved_output = kNoBuffer;
  std::vector<int32_t> saved_aux;
  int recompute = -1;  // the StepPlan::recompute pass that runs right before this node's backward
  // Micro-batches (accumulate_grads): where the parameter gradients wait while a backward that cannot
  // add to them overwrites them (kNoBuffer: the backward adds itself, or no parameters).
  int32_t grad_save = kNoBuffer;
};

// One forward re-run of a recompute segment (a folded pair re-runs as its producer).
struct RecomputedNode {
  int node = -1;
  int32_t time = 0;
  std::vector<int32_t> inputs;  // per input
  int32_t output = kNoBuffer;   // the node's value (a folded pair: the ReLU's)
  std::vector<int32_t> aux;     // written by the re-run; read by the node's backward when it recomputes
  int32_t workspace = kNoBuffer;
};

struct RecomputePass {
  int first = 0, last = 0;             // the segment of recompute nodes it serves
  std::vector<RecomputedNode> nodes;   // in node order
};

struct StepPlan {
  bool training = true;
  int64_t batch = 0;
  StepDescription step;                     // transient buffers only: what the planner places
  std::vector<Shape> shapes;                // per buffer id
  std::vector<DType> dtypes;                // per buffer id
  int32_t input = kNoBuffer, labels = kNoBuffer, probs = kNoBuffer;
  std::vector<NodeBuffers> nodes;
  std::vector<RecomputePass> recompute;
  int32_t time_data = 0, time_loss = 0, time_optimizer = 0;
  std::vector<int32_t> backward_times;  // per node
  int32_t forward_time(int node) const { return 1 + node; }
  int32_t backward_time(int node) const { return backward_times[node]; }
};

// `modes` has one entry per node (ignored when !training). The graph must be set up for `batch`.
// `fold_relus`: fold ReLUs into their producers where training/relu_folding.h allows, unless that would
// raise the most bytes live at once (lower_bound_bytes). `accumulate_grads`: a step of one of several
// micro-batches whose backward adds to the parameter gradients (NodeBuffers::grad_save).
StepPlan build_step_plan(Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                         int64_t batch, int64_t num_classes, bool training, bool fold_relus,
                         bool accumulate_grads = false);
StepPlan build_step_plan(Graph& graph, const std::vector<BackwardMode*>& modes, int64_t batch,
                         int64_t num_classes, bool training, bool fold_relus, bool accumulate_grads = false);

}  // namespace frugal
