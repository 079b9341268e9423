// Feedback alignment (Lillicrap et al. 2016; spec: docs/algorithms.md §4): a Linear or Conv2d layer sends
// the error backward through a fixed random matrix B of its weight's shape instead of the weight,
// dx = backward_data(dy, B); the weight and bias gradients are the exact ones from dy. A per-layer
// mode: other layers may stay exact. The classifier's own update always uses the true error.
//
// B is regenerated from (seed, layer index) into the backward workspace at every backward (a transient
// buffer the planner shares between layers), or, with the config knob "memory": true, generated once
// and kept as mode state (one persistent weight-sized buffer per layer, no per-step RNG work).
#pragma once
#include "training/modes/backward_mode.h"
#include "training/modes/feedback.h"

namespace frugal {

class FaMode : public BackwardMode {
 public:
  // `keep_in_memory`: store B as state instead of regenerating it. B takes the shape of `layer`'s
  // weight (supports() refuses layers without one).
  FaMode(const FeedbackOptions& options, bool keep_in_memory, Layer& layer, int layer_index, uint64_t seed);

  std::string name() const override { return "fa"; }
  std::string describe() const override;  // e.g. "fa(uniform, scale=1, regenerated)"
  bool supports(const Layer& layer) const override;
  size_t backward_workspace_bytes(const Layer& layer) const override;
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  std::vector<Parameter*> state() override;
  // dW from the layer's own backward_weight (only dx goes through B).
  bool weight_gradient_by_layer(const Layer&) const override { return true; }

  // Writes B (the weight's shape) into `out`: what backward uses.
  void fill_feedback_matrix(const Kernels& kernels, float* out) const;
  // Uses `matrix` (shared, not copied) as B from now on, e.g. the layer's own weight, which turns FA
  // back into exact backprop: a check of the mode's plumbing.
  void use_feedback(const Tensor& matrix) { override_ = matrix; }

 private:
  FeedbackOptions options_;
  Shape shape_;         // the weight's: [out, in] or [O, C/groups, kh, kw]
  int64_t fan_in_ = 0;  // in or C/groups*kh*kw
  bool keep_in_memory_;
  RngKey key_;
  Parameter stored_;  // B as state when keep_in_memory_
  Tensor override_;
};

}  // namespace frugal
