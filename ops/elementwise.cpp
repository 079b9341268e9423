#include "ops/elementwise.h"

#include <cstring>

#include "core/error.h"

namespace frugal {

Shape Add::setup(const std::vector<Shape>& inputs) {
  if (inputs.size() != 2 || inputs[0] != inputs[1])
    throw ShapeError(where() + ": inputs must have the same shape, got " + inputs.at(0).str() +
                     " and " + (inputs.size() > 1 ? inputs[1].str() : std::string("nothing")));
  bind(inputs, inputs[0]);
  return inputs[0];
}

void Add::forward(const ForwardArgs& args) {
  kernels().add(args.output->numel(), args.inputs[0]->device_f32(), args.inputs[1]->device_f32(),
                args.output->device_f32());
}

void Add::backward(const BackwardArgs& args) {
  Tensor* ga = args.grad_inputs[0];
  Tensor* gb = args.grad_inputs[1];
  kernels().copy_to_two(args.grad_output->numel(), args.grad_output->device_f32(), ga ? ga->device_f32() : nullptr,
                        gb ? gb->device_f32() : nullptr);
}

void Add::forward_relu(const ForwardArgs& args) {
  kernels().add_relu(args.output->numel(), args.inputs[0]->device_f32(), args.inputs[1]->device_f32(),
                     args.output->device_f32());
}

void Add::backward_relu(const BackwardArgs& args) {
  Tensor* ga = args.grad_inputs[0];
  Tensor* gb = args.grad_inputs[1];
  kernels().relu_grad_to_two(args.grad_output->numel(), args.output->device_f32(), args.grad_output->device_f32(),
                             ga ? ga->device_f32() : nullptr, gb ? gb->device_f32() : nullptr);
}

Shape Flatten::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  if (x.ndim() < 1) throw ShapeError(where() + ": cannot flatten a scalar");
  Shape y{x[0], x[0] == 0 ? 0 : x.numel() / x[0]};
  bind(inputs, y);
  return y;
}

void Flatten::forward(const ForwardArgs& args) {
  kernels().copy(args.output->numel(), args.inputs[0]->device_f32(), args.output->device_f32());
}

void Flatten::backward(const BackwardArgs& args) {
  kernels().copy(args.grad_output->numel(), args.grad_output->device_f32(), args.grad_inputs[0]->device_f32());
}

Dropout::Dropout(std::string name, float p) : Layer(std::move(name)), p_(p) {
  if (!(p >= 0.0f && p < 1.0f))
    throw ShapeError(where() + ": probability must be in [0, 1), got " + std::to_string(p));
}

Shape Dropout::setup(const std::vector<Shape>& inputs) {
  bind(inputs, inputs.at(0));
  return inputs[0];
}

SavedNeeds Dropout::saved_needs() const { return {{false}, false, {{"mask", output_shape(), DType::U8}}}; }

void Dropout::forward(const ForwardArgs& args) {
  const int64_t n = args.output->numel();
  if (!args.training || p_ == 0.0f) {
    kernels().copy(n, args.inputs[0]->device_f32(), args.output->device_f32());
    if (!args.aux.empty()) kernels().fill_bytes(args.aux[0]->raw(), 1, args.aux[0]->nbytes());
    return;
  }
  if (args.aux.empty()) throw InternalError(where() + ": a training forward needs a mask buffer");
  kernels().dropout_forward(n, p_, args.rng, args.inputs[0]->device_f32(), args.output->device_f32(),
                            args.aux[0]->device_data<uint8_t>());
}

void Dropout::backward(const BackwardArgs& args) {
  kernels().dropout_backward(args.grad_output->numel(), p_, args.grad_output->device_f32(),
                             args.aux[0]->device_data<uint8_t>(), args.grad_inputs[0]->device_f32());
}

}  // namespace frugal
