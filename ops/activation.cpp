#include "ops/activation.h"

#include "core/error.h"

namespace frugal {

Activation::Activation(std::string name, const ActivationSpec& spec)
    : Layer(std::move(name)), spec_(spec) {}

const char* Activation::kind() const {
  switch (spec_.kind) {
    case ActivationKind::ReLU: return "ReLU";
    case ActivationKind::LeakyReLU: return "LeakyReLU";
    case ActivationKind::GELU: return "GELU";
    case ActivationKind::SiLU: return "SiLU";
    case ActivationKind::Tanh: return "Tanh";
    case ActivationKind::Sigmoid: return "Sigmoid";
    case ActivationKind::ELU: return "ELU";
    case ActivationKind::Softplus: return "Softplus";
  }
  return "Activation";
}

Shape Activation::setup(const std::vector<Shape>& inputs) {
  bind(inputs, inputs.at(0));
  return inputs[0];
}

bool Activation::derivative_from_output() const {
  switch (spec_.kind) {
    case ActivationKind::ReLU:
    case ActivationKind::Sigmoid:
    case ActivationKind::Tanh: return true;
    case ActivationKind::LeakyReLU: return spec_.alpha > 0;  // sign of y equals sign of x
    case ActivationKind::ELU: return spec_.alpha > 0;
    default: return false;
  }
}

SavedNeeds Activation::saved_needs() const {
  if (derivative_from_output()) return {{false}, true, {}};
  return {{true}, false, {}};
}

void Activation::forward(const ForwardArgs& args) {
  kernels().activation_forward(spec_, args.output->numel(), args.inputs[0]->device_f32(), args.output->device_f32());
}

void Activation::backward(const BackwardArgs& args) {
  const int64_t n = args.grad_output->numel();
  if (derivative_from_output())
    kernels().activation_backward_from_output(spec_, n, args.output->device_f32(), args.grad_output->device_f32(),
                                              args.grad_inputs[0]->device_f32());
  else
    kernels().activation_backward(spec_, n, args.inputs[0]->device_f32(), args.grad_output->device_f32(),
                                  args.grad_inputs[0]->device_f32());
}

bool is_relu(const Layer& layer) {
  auto* a = dynamic_cast<const Activation*>(&layer);
  return a && a->spec().kind == ActivationKind::ReLU;
}

}  // namespace frugal
