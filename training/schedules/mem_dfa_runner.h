// MEM-DFA (Chu et al., arXiv 2012.11745; spec: docs/algorithms.md §4): DFA's weight updates with activation
// memory that does not grow with depth, for one extra forward pass.
//   pass 1: forward keeping nothing (BN running statistics are updated here, once); the loss and the
//           output error e = dL/dlogits [B, classes] are kept;
//   pass 2: block by block (blocks end at DFA injection points, see dfa_roles.h): recompute the block
//           (same batch statistics, dropout masks replayed from the step's key), inject e·D_i at its
//           end, backprop locally inside it, hand its layers to `update`, release it.
// Layer i's gradient reads only h_{i-1} and a_i, both computed before any weight they depend on changed,
// so updating a block right after its backward gives exactly dfa's weights (bit for bit: the same
// kernels run on the same values).
//
// The runner drives the executor's graph and modes (every mode a DfaMode, the graph a chain) on memory
// placed by its own planner; the executor still serves evaluation.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "memory/planner.h"
#include "ops/loss.h"
#include "training/executor.h"
#include "training/schedules/mem_dfa_plan.h"
#include "training/step_runtime.h"

namespace frugal {

class MemDfaRunner {
 public:
  // ConfigError naming the layer when a node's mode is not dfa/mem_dfa or the graph is not a chain.
  MemDfaRunner(Executor& executor, const std::string& planner_name, int64_t num_classes, float label_smoothing = 0.0f);

  // Called once per node, in block order, as soon as the node's gradients are final and nothing later
  // in the step reads its parameters: the place for a per-layer optimizer step.
  using LayerUpdate = std::function<void(int node)>;
  // One step. Without `update`, every trainable parameter's .grad holds its DFA gradient afterwards
  // and an optimizer step over all parameters gives the same weights.
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                        const LayerUpdate& update = {});

  // Plans (or re-plans) a step for `batch` samples without running it.
  const MemDfaPlan& plan(int64_t batch);
  const Planner& planner() const { return runtime_.planner(); }
  // Every acquire and release of the last step, as it happened.
  const MemoryProfiler& profile() const { return runtime_.profile(); }

 private:
  void prepare(int64_t batch);
  void forward_node(int node, bool recompute, uint64_t step, uint64_t seed);
  void backward_node(int node);

  Graph& graph_;
  std::vector<DfaMode*> modes_;
  int64_t num_classes_;
  SoftmaxCrossEntropy loss_;
  StepRuntime runtime_;
  MemDfaPlan plan_;
};

}  // namespace frugal
