// The K-bit code of one pre-activation y ([N, C] or [N, C, H, W]) in the `quantized` mode: bit-packed
// codes plus the per-channel grid (ops/packed_codes.h), stored in the stash of the layer that
// filled it and read by its neighbours' backward through link(). The stash's owner is always the node
// whose backward runs last among the readers, so the buffers stay alive for every reader.
#pragma once
#include <vector>

#include "training/modes/backward_mode.h"

namespace frugal {

class QuantizedCode {
 public:
  explicit QuantizedCode(int bits) : bits_(bits) {}
  int bits() const { return bits_; }

  // The stash of a value of `shape`: "codes" (U8, packed_bytes(numel, bits)) and "grid" (F32 [3, C]).
  std::vector<StashSpec> stash_specs(const Shape& shape) const;

  // After the forward: the grid from each channel's mean and std of y (device memory), then the codes
  // of y, written to `stash` (as stash_specs(y.shape())). The code remembers the stash and the kernels
  // for its readers.
  void encode(const Kernels& kernels, const Tensor& y, const float* mean, const float* std,
              const std::vector<Tensor*>& stash);

  // Readers; valid from encode() until the owner's backward.
  const Shape& shape() const { return shape_; }
  // dx = dy * [y > 0] (exact). dx may alias dy.
  void relu_backward(const Tensor& dy, Tensor& dx) const;
  // ReLU(ỹ) into h[numel] (device memory, like every pointer here).
  void relu_values(float* h) const;
  // x̃ = (ỹ - beta) / gamma into xhat[numel], for a y that is a BatchNorm's output.
  void normalized(const float* gamma, const float* beta, float* xhat) const;

 private:
  struct Dims {
    int64_t n, c, s;  // [N, C, S]
  };
  Dims dims() const;
  const uint8_t* codes() const;
  const float* grid() const;

  int bits_;
  const Kernels* kernels_ = nullptr;
  Shape shape_;
  Tensor* codes_ = nullptr;  // the owner's stash buffers (the executor rebinds them every step)
  Tensor* grid_ = nullptr;
};

}  // namespace frugal
