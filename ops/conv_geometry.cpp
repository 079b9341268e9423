// The convolution's geometry: output sizes, validation with messages that show the whole geometry,
// and the FLOP count.
#include <sstream>
#include <string>

#include "core/error.h"
#include "ops/conv_geometry.h"

namespace frugal {
namespace {

// floor(a / b) for b > 0 and any sign of a (C++ division truncates towards zero).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  if (stride <= 0) return 0;
  return floor_div(in + 2 * pad - dilation * (kernel - 1) - 1, stride) + 1;
}

std::string describe(const Conv2dGeometry& g) {
  std::ostringstream s;
  s << "input [N, C, H, W] = [" << g.batch << ", " << g.in_channels << ", " << g.in_h << ", " << g.in_w
    << "], weight [O, C/groups, KH, KW] = [" << g.out_channels << ", "
    << (g.groups > 0 ? std::to_string(g.in_channels / g.groups) : std::string("?")) << ", " << g.kernel_h
    << ", " << g.kernel_w << "], stride (" << g.stride_h << ", " << g.stride_w << "), padding ("
    << g.pad_h << ", " << g.pad_w << "), dilation (" << g.dilation_h << ", " << g.dilation_w
    << "), groups " << g.groups;
  return s.str();
}

}  // namespace

int64_t Conv2dGeometry::out_h() const {
  return conv_out_size(in_h, kernel_h, stride_h, pad_h, dilation_h);
}

int64_t Conv2dGeometry::out_w() const {
  return conv_out_size(in_w, kernel_w, stride_w, pad_w, dilation_w);
}

void validate_conv2d(const Conv2dGeometry& g, const std::string& where) {
  auto fail = [&](const std::string& problem) {
    throw ShapeError(where + ": invalid conv2d geometry: " + problem + " (" + describe(g) + ")");
  };
  if (g.batch <= 0 || g.in_channels <= 0 || g.in_h <= 0 || g.in_w <= 0)
    fail("input sizes must be positive");
  if (g.out_channels <= 0 || g.kernel_h <= 0 || g.kernel_w <= 0)
    fail("output channels and kernel sizes must be positive");
  if (g.stride_h <= 0 || g.stride_w <= 0) fail("stride must be positive");
  if (g.dilation_h <= 0 || g.dilation_w <= 0) fail("dilation must be positive");
  if (g.pad_h < 0 || g.pad_w < 0) fail("padding must not be negative");
  if (g.groups <= 0) fail("groups must be positive");
  if (g.in_channels % g.groups != 0)
    fail("in_channels " + std::to_string(g.in_channels) + " is not divisible by groups " +
         std::to_string(g.groups));
  if (g.out_channels % g.groups != 0)
    fail("out_channels " + std::to_string(g.out_channels) + " is not divisible by groups " +
         std::to_string(g.groups));
  if (g.out_h() <= 0 || g.out_w() <= 0)
    fail("dilated kernel " + std::to_string(g.dilation_h * (g.kernel_h - 1) + 1) + "x" +
         std::to_string(g.dilation_w * (g.kernel_w - 1) + 1) + " is larger than padded input " +
         std::to_string(g.in_h + 2 * g.pad_h) + "x" + std::to_string(g.in_w + 2 * g.pad_w) +
         ", output would be " + std::to_string(g.out_h()) + "x" + std::to_string(g.out_w()));
}

int64_t conv2d_forward_flops(const Conv2dGeometry& g) {
  return 2 * g.batch * g.out_channels * g.out_h() * g.out_w() * (g.in_channels / g.groups) * g.kernel_h *
         g.kernel_w;
}

}  // namespace frugal
