#include "ops/pool.h"

#include "core/error.h"

namespace frugal {
namespace {

Pool2dGeometry make_geometry(const Shape& x, const Pool2dOptions& o, const std::string& where) {
  if (x.ndim() != 4) throw ShapeError(where + ": expected input [N, C, H, W], got " + x.str());
  Pool2dGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.in_h = x[2];
  g.in_w = x[3];
  g.kernel_h = g.kernel_w = o.kernel;
  g.stride_h = g.stride_w = o.stride > 0 ? o.stride : o.kernel;
  g.pad_h = g.pad_w = o.padding;
  g.count_include_pad = o.count_include_pad;
  validate_pool2d(g, where);
  return g;
}

}  // namespace

Shape MaxPool2d::setup(const std::vector<Shape>& inputs) {
  geometry_ = make_geometry(inputs.at(0), opts_, where());
  Shape y{geometry_.batch, geometry_.channels, geometry_.out_h(), geometry_.out_w()};
  bind(inputs, y);
  return y;
}

int64_t MaxPool2d::forward_flops() const {
  return output_shape().numel() * geometry_.kernel_h * geometry_.kernel_w;
}

SavedNeeds MaxPool2d::saved_needs() const {
  return {{false}, false, {{"argmax", output_shape(), DType::U8}}};
}

void MaxPool2d::forward(const ForwardArgs& args) {
  uint8_t* argmax = args.aux.empty() ? nullptr : args.aux[0]->device_data<uint8_t>();
  kernels().maxpool2d_forward(geometry_, args.inputs[0]->device_f32(), args.output->device_f32(), argmax);
}

void MaxPool2d::backward(const BackwardArgs& args) {
  kernels().maxpool2d_backward(geometry_, args.grad_output->device_f32(), args.aux[0]->device_data<uint8_t>(),
                         args.grad_inputs[0]->device_f32());
}

Shape AvgPool2d::setup(const std::vector<Shape>& inputs) {
  geometry_ = make_geometry(inputs.at(0), opts_, where());
  Shape y{geometry_.batch, geometry_.channels, geometry_.out_h(), geometry_.out_w()};
  bind(inputs, y);
  return y;
}

int64_t AvgPool2d::forward_flops() const {
  return output_shape().numel() * geometry_.kernel_h * geometry_.kernel_w;
}

void AvgPool2d::forward(const ForwardArgs& args) {
  kernels().avgpool2d_forward(geometry_, args.inputs[0]->device_f32(), args.output->device_f32());
}

void AvgPool2d::backward(const BackwardArgs& args) {
  kernels().avgpool2d_backward(geometry_, args.grad_output->device_f32(), args.grad_inputs[0]->device_f32());
}

Shape GlobalAvgPool::setup(const std::vector<Shape>& inputs) {
  const Shape& x = inputs.at(0);
  if (x.ndim() != 4) throw ShapeError(where() + ": expected input [N, C, H, W], got " + x.str());
  Shape y{x[0], x[1]};
  bind(inputs, y);
  return y;
}

void GlobalAvgPool::forward(const ForwardArgs& args) {
  const Shape& x = input_shapes()[0];
  kernels().global_avgpool_forward(x[0], x[1], x[2] * x[3], args.inputs[0]->device_f32(), args.output->device_f32());
}

void GlobalAvgPool::backward(const BackwardArgs& args) {
  const Shape& x = input_shapes()[0];
  kernels().global_avgpool_backward(x[0], x[1], x[2] * x[3], args.grad_output->device_f32(),
                              args.grad_inputs[0]->device_f32());
}

}  // namespace frugal
