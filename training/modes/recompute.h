// `recompute`: exact backpropagation that keeps nothing of the layer's forward. Before the backward of
// a run of consecutive recompute layers, the step re-runs the forward of what their backward reads,
// starting from the nearest tensors that are kept anyway (segment checkpointing; Chen et al. 2016,
// "Training Deep Nets with Sublinear Memory Cost"). The step plan (training/step_plan.h) schedules and
// sizes the recomputed buffers like every other, so the memory report and the budget see them.
//
// Results are bit for bit those of exact mode: the recomputed forward runs the same kernels on the same
// values, BatchNorm leaves its running statistics alone on the second run, and dropout draws its masks
// again from the same counter-based key (training/step_runtime.h dropout_key).
#pragma once
#include "ops/activation.h"
#include "training/modes/backward_mode.h"

namespace frugal {

class RecomputeMode : public BackwardMode {
 public:
  std::string name() const override { return "recompute"; }
  bool supports(const Layer&) const override { return true; }
  bool recomputes() const override { return true; }
  bool weight_gradient_by_layer(const Layer&) const override { return true; }
  SavedNeeds keeps(const Layer& layer) const override {
    return {std::vector<bool>(static_cast<size_t>(layer.arity()), false), false, {}};
  }
  // As exact: activations compute dx = dy * f' element by element.
  bool backward_in_place(const Layer& layer) const override {
    return dynamic_cast<const Activation*>(&layer) != nullptr;
  }
  // backward() is the layer's own, reading the recomputed tensors the executor passes in.
};

}  // namespace frugal
