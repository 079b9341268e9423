#include "ops/elementwise.h"

#include <cstring>

#include "core/error.h"
#include "ops/cpu/dropout_cpu.h"
#include "ops/cpu/elementwise_cpu.h"

namespace frugal {

Shape Add::setup(const std::vector<Shape>& inputs) {
  if (inputs.size() != 2 || inputs[0] != inputs[1])
    throw ShapeError(where() + ": inputs must have the same shape, got " + inputs.at(0).str() +
                     " and " + (inputs.size() > 1 ? inputs[1].str() : std::string("nothing")));
  bind(inputs, inputs[0]);
  return inputs[0];
}

void Add::forward(const ForwardArgs& args) {
  add_cpu(args.output->numel(), args.inputs[0]->f32(), args.inputs[1]->f32(), args.output->f32());
}

void Add::backward(const BackwardArgs& args) {
  Tensor* ga = args.grad_inputs[0];
  Tensor* gb = args.grad_inputs[1];
  copy_to_two_cpu(args.grad_output->numel(), args.grad_output->f32(), ga ? ga->f32() : nullptr,
                  gb ? gb->f32() : nullptr);
}

void Add::forward_relu(const ForwardArgs& args) {
  add_relu_cpu(args.output->numel(), args.inputs[0]->f32(), args.inputs[1]->f32(), args.output->f32());
}

void Add::backward_relu(const BackwardArgs& args) {
  Tensor* ga = args.grad_inputs[0];
  Tensor* gb = args.grad_inputs[1];
  relu_grad_to_two_cpu(args.grad_output->numel(), args.output->f32(), args.grad_output->f32(),
                       ga ? ga->f32() : nullptr, gb ? gb->f32() : nullptr);
}

Shape Flatten::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  if (x.ndim() < 1) throw ShapeError(where() + ": cannot flatten a scalar");
  Shape y{x[0], x[0] == 0 ? 0 : x.numel() / x[0]};
  bind(inputs, y);
  return y;
}

void Flatten::forward(const ForwardArgs& args) {
  copy_cpu(args.output->numel(), args.inputs[0]->f32(), args.output->f32());
}

void Flatten::backward(const BackwardArgs& args) {
  copy_cpu(args.grad_output->numel(), args.grad_output->f32(), args.grad_inputs[0]->f32());
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
    copy_cpu(n, args.inputs[0]->f32(), args.output->f32());
    if (!args.aux.empty()) std::memset(args.aux[0]->raw(), 1, args.aux[0]->nbytes());
    return;
  }
  if (args.aux.empty()) throw InternalError(where() + ": a training forward needs a mask buffer");
  dropout_forward_cpu(n, p_, args.rng, args.inputs[0]->f32(), args.output->f32(),
                      args.aux[0]->data<uint8_t>());
}

void Dropout::backward(const BackwardArgs& args) {
  dropout_backward_cpu(args.grad_output->numel(), p_, args.grad_output->f32(),
                       args.aux[0]->data<uint8_t>(), args.grad_inputs[0]->f32());
}

}  // namespace frugal
