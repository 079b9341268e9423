// Pointwise nonlinearity layer (ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, ELU, Softplus).
#pragma once
#include "ops/activation_spec.h"
#include "ops/layer.h"

namespace frugal {

class Activation : public Layer {
 public:
  Activation(std::string name, const ActivationSpec& spec);
  const char* kind() const override;
  Shape setup(const std::vector<Shape>& inputs) override;
  int64_t forward_flops() const override { return output_shape().numel(); }
  // Like PyTorch, functions whose derivative is a function of the output (ReLU, LeakyReLU, ELU,
  // Sigmoid, Tanh) keep the output, which the next layer usually keeps anyway; the others keep
  // the input.
  SavedNeeds saved_needs() const override;
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;

  const ActivationSpec& spec() const { return spec_; }
  bool derivative_from_output() const;

 private:
  ActivationSpec spec_;
};

// Whether `layer` is a ReLU (the kind that folding and the quantized mode treat specially).
bool is_relu(const Layer& layer);

}  // namespace frugal
