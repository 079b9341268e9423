#include "ops/conv.h"

#include <utility>

#include "core/error.h"
#include "ops/init.h"

namespace frugal {

Conv2d::Conv2d(std::string name, const Conv2dOptions& opts, const RngKey& init_key)
    : WeightedLayer(std::move(name)), opts_(opts) {
  if (opts.in_channels <= 0 || opts.out_channels <= 0 || opts.groups <= 0 ||
      opts.in_channels % opts.groups != 0 || opts.out_channels % opts.groups != 0 ||
      opts.kernel_h <= 0 || opts.kernel_w <= 0)
    throw ShapeError(where() + ": invalid channels " + std::to_string(opts.in_channels) + "->" +
                     std::to_string(opts.out_channels) + " with groups " +
                     std::to_string(opts.groups) + " and kernel " + std::to_string(opts.kernel_h) +
                     "x" + std::to_string(opts.kernel_w));
  Shape wshape{opts.out_channels, opts.in_channels / opts.groups, opts.kernel_h, opts.kernel_w};
  // The layer's name outlives its parameters; an allocation that fails names it.
  AllocTag wtag{MemoryCategory::Weights, this->name().c_str()}, gtag{MemoryCategory::Gradients, this->name().c_str()};
  weight_ = {this->name() + ".weight", Tensor::empty(wshape, DType::F32, nullptr, wtag),
             Tensor::zeros(wshape, DType::F32, nullptr, gtag)};
  if (opts.bias)
    bias_ = {this->name() + ".bias", Tensor::empty({opts.out_channels}, DType::F32, nullptr, wtag),
             Tensor::zeros({opts.out_channels}, DType::F32, nullptr, gtag)};
  init_pytorch_default(init_key, wshape[1] * wshape[2] * wshape[3], weight_.value,
                       opts.bias ? &bias_.value : nullptr);
}

Shape Conv2d::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  if (x.ndim() != 4 || x[1] != opts_.in_channels)
    throw ShapeError(where() + ": expected input [N, " + std::to_string(opts_.in_channels) +
                     ", H, W], got " + x.str());
  Conv2dGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.in_h = x[2];
  g.in_w = x[3];
  g.out_channels = opts_.out_channels;
  g.kernel_h = opts_.kernel_h;
  g.kernel_w = opts_.kernel_w;
  g.stride_h = g.stride_w = opts_.stride;
  g.pad_h = g.pad_w = opts_.padding;
  g.dilation_h = g.dilation_w = opts_.dilation;
  g.groups = opts_.groups;
  validate_conv2d(g, where());
  g.winograd = winograd_;
  geometry_ = g;
  cpu_forward_workspace_ = cpu_backward_workspace_ = kUnknown;
  Shape y{g.batch, g.out_channels, g.out_h(), g.out_w()};
  bind(inputs, y);
  return y;
}

std::vector<Parameter*> Conv2d::parameters() {
  if (opts_.bias) return {&weight_, &bias_};
  return {&weight_};
}

size_t Conv2d::forward_workspace_bytes() const {
  if (device() != Device::CPU) return kernels().conv2d_forward_workspace_bytes(geometry_);
  if (cpu_forward_workspace_ == kUnknown) cpu_forward_workspace_ = kernels().conv2d_forward_workspace_bytes(geometry_);
  return cpu_forward_workspace_;
}

size_t Conv2d::backward_workspace_bytes() const {
  if (device() != Device::CPU) return kernels().conv2d_backward_workspace_bytes(geometry_);
  if (cpu_backward_workspace_ == kUnknown)
    cpu_backward_workspace_ = kernels().conv2d_backward_workspace_bytes(geometry_);
  return cpu_backward_workspace_;
}

void Conv2d::set_winograd(bool on) {
  winograd_ = on;
  geometry_.winograd = on;
  cpu_forward_workspace_ = cpu_backward_workspace_ = kUnknown;
}

void Conv2d::forward(const ForwardArgs& args) {
  kernels().conv2d_forward(geometry_, args.inputs[0]->device_f32(), weight_.value.device_f32(),
                           opts_.bias ? bias_.value.device_f32() : nullptr, args.output->device_f32(), args.workspace);
}

void Conv2d::backward_data(const Tensor& grad_output, const Tensor& weight, Tensor& grad_input,
                           float* workspace) {
  kernels().conv2d_backward_data(geometry_, grad_output.device_f32(), weight.device_f32(), grad_input.device_f32(),
                                 workspace);
}

void Conv2d::backward_weight(const Tensor& input, const Tensor& grad_output, float* workspace) {
  kernels().conv2d_backward_weight(geometry_, input.device_f32(), grad_output.device_f32(), weight_.grad.device_f32(),
                                   opts_.bias ? bias_.grad.device_f32() : nullptr, workspace,
                                   accumulate_param_grads());
}

void Conv2d::backward_bias(const Tensor& grad_output) {
  if (!opts_.bias) return;
  kernels().bias_gradient(geometry_.batch, geometry_.out_channels, geometry_.out_h() * geometry_.out_w(),
                          grad_output.device_f32(), bias_.grad.device_f32(), accumulate_param_grads());
}

void Conv2d::backward(const BackwardArgs& args) {
  if (args.grad_inputs[0])
    backward_data(*args.grad_output, weight_.value, *args.grad_inputs[0], args.workspace);
  backward_weight(*args.inputs[0], *args.grad_output, args.workspace);
}

}  // namespace frugal
