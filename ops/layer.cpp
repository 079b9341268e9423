#include "ops/layer.h"

#include "core/error.h"
#include "ops/kernels.h"

namespace frugal {

void Layer::bind(const std::vector<Shape>& inputs, const Shape& output) {
  input_shapes_ = inputs;
  output_shape_ = output;
}

void Layer::to_device(Device device) {
  if (device == device_) return;
  kernels_for(device);  // starts the device's runtime, or names why it cannot (no GPU, no CUDA build)
  for (Parameter* p : parameters()) {
    p->value = p->value.to(device, {MemoryCategory::Weights, p->name.c_str()});
    if (p->grad.defined()) p->grad = p->grad.to(device, {MemoryCategory::Gradients, p->name.c_str()});
  }
  device_ = device;
}

}  // namespace frugal
