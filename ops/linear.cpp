#include "ops/linear.h"

#include "core/error.h"
#include "ops/init.h"

namespace frugal {

Linear::Linear(std::string name, int64_t in_features, int64_t out_features, bool bias,
               const RngKey& init_key)
    : WeightedLayer(std::move(name)), in_(in_features), out_(out_features), has_bias_(bias) {
  if (in_ <= 0 || out_ <= 0)
    throw ShapeError(where() + ": invalid features " + std::to_string(in_) + "->" +
                     std::to_string(out_));
  // The layer's name outlives its parameters; an allocation that fails names it.
  AllocTag wtag{MemoryCategory::Weights, this->name().c_str()}, gtag{MemoryCategory::Gradients, this->name().c_str()};
  weight_ = {this->name() + ".weight", Tensor::empty({out_, in_}, DType::F32, nullptr, wtag),
             Tensor::zeros({out_, in_}, DType::F32, nullptr, gtag)};
  if (bias)
    bias_ = {this->name() + ".bias", Tensor::empty({out_}, DType::F32, nullptr, wtag),
             Tensor::zeros({out_}, DType::F32, nullptr, gtag)};
  init_pytorch_default(init_key, in_, weight_.value, bias ? &bias_.value : nullptr);
}

Shape Linear::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  if (x.ndim() != 2 || x[1] != in_)
    throw ShapeError(where() + ": expected input [N, " + std::to_string(in_) + "], got " + x.str());
  batch_ = x[0];
  Shape y{batch_, out_};
  bind(inputs, y);
  return y;
}

std::vector<Parameter*> Linear::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void Linear::forward(const ForwardArgs& args) {
  kernels().linear_forward(batch_, in_, out_, args.inputs[0]->device_f32(), weight_.value.device_f32(),
                           has_bias_ ? bias_.value.device_f32() : nullptr, args.output->device_f32());
}

void Linear::backward_data(const Tensor& grad_output, const Tensor& weight, Tensor& grad_input,
                           float*) {
  kernels().linear_backward_data(batch_, in_, out_, grad_output.device_f32(), weight.device_f32(),
                                 grad_input.device_f32());
}

void Linear::backward_weight(const Tensor& input, const Tensor& grad_output, float*) {
  if (pieces_) {
    if (accumulate_param_grads())
      throw InternalError(where() + ": a weight gradient in pieces cannot add up micro-batches");
    const float* x = input.device_f32();
    const float* dy = grad_output.device_f32();
    const std::vector<int64_t>& rows = pieces_->row_bounds;
    if (rows.size() < 2 || rows.front() != 0 || rows.back() != out_)
      throw InternalError(where() + ": weight-gradient pieces do not cover its " + std::to_string(out_) + " rows");
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
      // rows [r0, r1) of dw[out, in] = dy^T[out, N] * x[N, in]: linear_backward_weight's product on fewer rows
      const int64_t r0 = rows[i], r1 = rows[i + 1];
      kernels().gemm(true, false, r1 - r0, in_, batch_, 1.0f, dy + r0, out_, x, in_, 0.0f,
                     pieces_->destination(static_cast<int>(i)), in_);
      pieces_->done(static_cast<int>(i));
    }
    if (has_bias_) kernels().bias_gradient(batch_, out_, 1, dy, bias_.grad.device_f32(), false);
    return;
  }
  kernels().linear_backward_weight(batch_, in_, out_, input.device_f32(), grad_output.device_f32(),
                                   weight_.grad.device_f32(), has_bias_ ? bias_.grad.device_f32() : nullptr,
                                   accumulate_param_grads());
}

void Linear::backward_bias(const Tensor& grad_output) {
  if (has_bias_)
    kernels().bias_gradient(batch_, out_, 1, grad_output.device_f32(), bias_.grad.device_f32(),
                            accumulate_param_grads());
}

void Linear::backward(const BackwardArgs& args) {
  if (args.grad_inputs[0])
    backward_data(*args.grad_output, weight_.value, *args.grad_inputs[0], args.workspace);
  backward_weight(*args.inputs[0], *args.grad_output, args.workspace);
}

}  // namespace frugal
