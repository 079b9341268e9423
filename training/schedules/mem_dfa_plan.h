// The buffers and schedule of one MEM-DFA training step (see mem_dfa_runner.h), as a StepDescription
// any planner can place. Schedule:
//   data; pass 1: forward of every node (nothing kept); loss (keeps e = dL/dlogits);
//   pass 2, per block (nodes up to and including an injection point, the last block ending at the
//   classifier): recompute the block's forward, its backward in reverse order, its update.
// Pass-1 values live only until the next node read them; pass-2 values only until their block's
// backward, except the block output, read by the next block's first recompute. So the activation peak
// is a few layers' buffers, whatever the depth.
#pragma once
#include <vector>

#include "memory/step_description.h"
#include "training/graph.h"
#include "training/modes/dfa.h"
#include "training/step_plan.h"

namespace frugal {

constexpr int32_t kNoTime = -1;

struct MemDfaNodeBuffers {
  SavedNeeds keeps;  // what the node's backward reads from its (recomputed) forward
  // pass 1
  int32_t t_forward = kNoTime;
  int32_t output1 = kNoBuffer, forward_workspace1 = kNoBuffer;
  std::vector<int32_t> aux1;
  // pass 2 (kNoTime / kNoBuffer where the step skips it)
  int32_t t_recompute = kNoTime, t_backward = kNoTime, t_update = kNoTime;
  int32_t output2 = kNoBuffer, forward_workspace2 = kNoBuffer;
  std::vector<int32_t> aux2;
  int32_t output_grad = kNoBuffer;        // dL/d(output) inside a block (Local nodes)
  int32_t input_grad_target = kNoBuffer;  // where the backward writes dL/d(input); kNoBuffer: skipped
  int32_t backward_workspace = kNoBuffer;
};

struct MemDfaPlan {
  int64_t batch = 0;
  StepDescription step;
  std::vector<Shape> shapes;  // per buffer id
  std::vector<DType> dtypes;  // per buffer id
  int32_t input = kNoBuffer, labels = kNoBuffer, probs = kNoBuffer, error = kNoBuffer;
  int32_t t_data = 0, t_loss = 0;
  std::vector<MemDfaNodeBuffers> nodes;
  std::vector<std::pair<int, int>> blocks;  // [first, last] node of each block, in order
};

// `modes[i]` is node i's linked DfaMode; the graph must be a chain set up for `batch`.
MemDfaPlan build_mem_dfa_plan(Graph& graph, const std::vector<DfaMode*>& modes, int64_t batch, int64_t num_classes);

}  // namespace frugal
