#include "training/modes/quantized_code.h"

#include "core/error.h"

namespace frugal {

std::vector<StashSpec> QuantizedCode::stash_specs(const Shape& shape) const {
  FRUGAL_CHECK(shape.ndim() >= 2, InternalError,
               "quantized code: expected a value [N, C, ...], got " + shape.str());
  return {{"codes", {static_cast<int64_t>(packed_bytes(shape.numel(), bits_))}, DType::U8},
          {"grid", {kQuantGridRows, shape[1]}, DType::F32}};
}

QuantizedCode::Dims QuantizedCode::dims() const {
  const int64_t n = shape_[0], c = shape_[1];
  return {n, c, shape_.numel() / (n * c)};
}

void QuantizedCode::encode(const Kernels& kernels, const Tensor& y, const float* mean, const float* std,
                           const std::vector<Tensor*>& stash) {
  FRUGAL_CHECK(stash.size() == 2 && stash[0] && stash[1], InternalError,
               "quantized code: expected the stash (codes, grid) for a value " + y.shape().str());
  kernels_ = &kernels;
  shape_ = y.shape();
  codes_ = stash[0];
  grid_ = stash[1];
  const Dims d = dims();
  kernels.relu_grid(d.c, mean, std, bits_, grid_->device_f32());
  kernels.quantize(d.n, d.c, d.s, y.device_f32(), grid_->device_f32(), bits_, codes_->device_data<uint8_t>());
}

const uint8_t* QuantizedCode::codes() const {
  FRUGAL_CHECK(codes_ && codes_->raw(), InternalError,
               "quantized code: read before the forward filled it (or after its stash was released)");
  return codes_->device_data<uint8_t>();
}

const float* QuantizedCode::grid() const {
  FRUGAL_CHECK(grid_ && grid_->raw(), InternalError,
               "quantized code: grid read before the forward filled it (or after its stash was released)");
  return grid_->device_f32();
}

void QuantizedCode::relu_backward(const Tensor& dy, Tensor& dx) const {
  FRUGAL_CHECK(dy.shape() == shape_ && dx.shape() == shape_, InternalError,
               "quantized ReLU backward: gradient " + dy.shape().str() + " for a code of " + shape_.str());
  const Dims d = dims();
  kernels_->relu_backward_from_codes(d.n, d.c, d.s, codes(), grid(), bits_, dy.device_f32(), dx.device_f32());
}

void QuantizedCode::relu_values(float* h) const {
  const Dims d = dims();
  kernels_->dequantize_relu(d.n, d.c, d.s, codes(), grid(), bits_, h);
}

void QuantizedCode::normalized(const float* gamma, const float* beta, float* xhat) const {
  const Dims d = dims();
  kernels_->dequantize_normalized(d.n, d.c, d.s, codes(), grid(), bits_, gamma, beta, xhat);
}

}  // namespace frugal
