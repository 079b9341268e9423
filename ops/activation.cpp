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
  activation_forward_cpu(spec_, args.output->numel(), args.inputs[0]->f32(), args.output->f32());
}

void Activation::backward(const BackwardArgs& args) {
  const int64_t n = args.grad_output->numel();
  if (derivative_from_output())
    activation_backward_from_output(spec_, n, args.output->f32(), args.grad_output->f32(),
                                    args.grad_inputs[0]->f32());
  else
    activation_backward_cpu(spec_, n, args.inputs[0]->f32(), args.grad_output->f32(),
                            args.grad_inputs[0]->f32());
}

bool is_relu(const Layer& layer) {
  auto* a = dynamic_cast<const Activation*>(&layer);
  return a && a->spec().kind == ActivationKind::ReLU;
}

void activation_backward_from_output(const ActivationSpec& spec, int64_t n, const float* y,
                                     const float* dy, float* dx) {
  const float alpha = spec.alpha;
  switch (spec.kind) {
    case ActivationKind::ReLU:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];  // loaded unconditionally, so the select vectorises without a branch
        dx[i] = y[i] > 0.0f ? g : 0.0f;
      }
      break;
    case ActivationKind::LeakyReLU:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : g * alpha;
      }
      break;
    case ActivationKind::ELU:  // y = alpha (e^x - 1) for x <= 0, so f'(x) = y + alpha there
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i], v = y[i];
        dx[i] = v > 0.0f ? g : g * (v + alpha);
      }
      break;
    case ActivationKind::Sigmoid:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case ActivationKind::Tanh:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    default:
      throw InternalError(std::string("activation_backward_from_output: ") +
                          activation_name(spec.kind) + " needs its input");
  }
}

}  // namespace frugal
