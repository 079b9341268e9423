#include "ops/layer.h"

#include "core/error.h"

namespace frugal {

void Layer::bind(const std::vector<Shape>& inputs, const Shape& output) {
  input_shapes_ = inputs;
  output_shape_ = output;
}

}  // namespace frugal
