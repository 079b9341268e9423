// Structural layers: Add (residual connections), Flatten, Dropout.
#pragma once
#include "ops/layer.h"

namespace frugal {

// y = a + b for two inputs of the same shape.
class Add : public Layer, public ReluFoldable {
 public:
  using Layer::Layer;
  const char* kind() const override { return "Add"; }
  int arity() const override { return 2; }
  Shape setup(const std::vector<Shape>& inputs) override;
  int64_t forward_flops() const override { return output_shape().numel(); }
  SavedNeeds saved_needs() const override { return {{false, false}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
  // Folded ReLU (a residual block's last activation): the mask comes from relu(a + b) itself.
  void forward_relu(const ForwardArgs& args) override;
  void backward_relu(const BackwardArgs& args) override;
  bool backward_relu_reads_output() const override { return true; }
};

// [N, ...] -> [N, prod(...)]
class Flatten : public Layer {
 public:
  using Layer::Layer;
  const char* kind() const override { return "Flatten"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  SavedNeeds saved_needs() const override { return {{false}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
};

// Inverted dropout: y = x * mask / (1 - p); the mask is drawn from the step's RNG key and kept
// (one byte per element) for backward.
class Dropout : public Layer {
 public:
  Dropout(std::string name, float p);
  const char* kind() const override { return "Dropout"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  SavedNeeds saved_needs() const override;
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
  float p() const { return p_; }

 private:
  float p_;
};

}  // namespace frugal
