// 2-D max/average pooling and global average pooling (float32, NCHW), floor mode as in PyTorch.
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

// Max pool stores the argmax as the index INSIDE the window (kh*kernel_w + kw), one byte per output
// element. Padding never wins; ties keep the first maximum; NaN propagates.
void maxpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax /* may be null */);
void maxpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax,
                            float* dx);  // dx overwritten (zeros + scatter-add)

void avgpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y);
void avgpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, float* dx);  // dx overwritten

// x [N, C, S] -> y [N, C], the mean over S = H*W; the backward spreads dy/S over each plane.
void global_avgpool_forward_cpu(int64_t n, int64_t c, int64_t s, const float* x, float* y);
void global_avgpool_backward_cpu(int64_t n, int64_t c, int64_t s, const float* dy, float* dx);

}  // namespace frugal
