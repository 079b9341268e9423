// The geometry of a 2-D convolution (NCHW input, PyTorch OIHW weight), shared by every backend's
// kernels and by the layers and modes that size buffers from it.
#pragma once
#include <cstdint>
#include <string>

namespace frugal {

struct Conv2dGeometry {
  int64_t batch, in_channels, in_h, in_w;    // input  [N, C, H, W]
  int64_t out_channels, kernel_h, kernel_w;  // weight [O, C/groups, KH, KW] (PyTorch OIHW)
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1, groups = 1;
  // The passes may take algorithms that need more workspace (CPU: Winograd, ops/cpu/conv_winograd.h;
  // CUDA: cuDNN algorithms above the workspace limit); off, they keep to kernels with less workspace.
  bool winograd = true;
  // PyTorch's formula: floor((H + 2*pad - dilation*(K-1) - 1) / stride) + 1; <= 0 when the dilated
  // kernel does not fit the padded input.
  int64_t out_h() const;
  int64_t out_w() const;
};

// Throws ShapeError (message prefixed by `where`, e.g. the layer name) for invalid geometry:
// non-positive sizes/stride/dilation, negative padding, channels not divisible by groups,
// empty output (kernel larger than padded input).
void validate_conv2d(const Conv2dGeometry& g, const std::string& where);

// Forward cost as 2 * multiply-accumulates (bias not counted).
int64_t conv2d_forward_flops(const Conv2dGeometry& g);

}  // namespace frugal
