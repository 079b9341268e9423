// The geometry of 2-D max/average pooling (NCHW, floor mode as in PyTorch), shared by every backend.
#pragma once
#include <cstdint>
#include <string>

namespace frugal {

struct Pool2dGeometry {
  int64_t batch, channels, in_h, in_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // avg pool, PyTorch default

  int64_t out_h() const { return (in_h + 2 * pad_h - kernel_h) / stride_h + 1; }  // floor mode
  int64_t out_w() const { return (in_w + 2 * pad_w - kernel_w) / stride_w + 1; }
};

enum class PoolKind { Max, Avg };

// Throws ShapeError naming `where` for non-positive sizes, pad > kernel/2 (PyTorch's rule), a window
// larger than the padded input, and, for max pool, kernel_h*kernel_w > 255 (the argmax is one byte).
void validate_pool2d(const Pool2dGeometry& g, const std::string& where, PoolKind kind = PoolKind::Max);

}  // namespace frugal
