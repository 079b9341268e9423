// Exact backpropagation: keeps what the layer's own backward needs, as PyTorch's autograd would.
#pragma once
#include <chrono>

#include "ops/activation.h"
#include "training/modes/backward_mode.h"

namespace frugal {

class ExactMode : public BackwardMode {
 public:
  std::string name() const override { return "exact"; }
  bool supports(const Layer&) const override { return true; }
  bool reproduces_exact_backward(const Layer&) const override { return true; }
  bool weight_gradient_by_layer(const Layer&) const override { return true; }
  // Activations compute dx = dy * f' element by element.
  bool backward_in_place(const Layer& layer) const override {
    return dynamic_cast<const Activation*>(&layer) != nullptr;
  }

  // Under profiling, Conv2d/Linear run their backward as its two pieces (what their own backward()
  // does) with the weight-gradient piece timed; every other case is the layer's own backward.
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>&) override {
    auto* weighted = weight_gradient_seconds_ ? dynamic_cast<WeightedLayer*>(&layer) : nullptr;
    if (!weighted) return layer.backward(args);
    if (args.grad_inputs[0])
      weighted->backward_data(*args.grad_output, weighted->weight().value, *args.grad_inputs[0], args.workspace);
    const auto start = std::chrono::steady_clock::now();
    weighted->backward_weight(*args.inputs[0], *args.grad_output, args.workspace);
    *weight_gradient_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace frugal
