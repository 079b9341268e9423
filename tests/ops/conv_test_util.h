// Float64 naive-loop reference for conv2d, written independently of ops/cpu (no im2col, no GEMM): the
// definition of PyTorch's conv2d with stride, padding, dilation and groups, read straight off the loop
// nest. Backward passes are the same loop nest with the roles of the operands swapped.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/cpu/conv_cpu.h"

namespace frugal::test {

// Calls visit(x_index, w_index, y_index) for every multiply-accumulate y[y] += x[x] * w[w] of the conv.
template <class Visit>
void for_each_conv_tap(const Conv2dGeometry& g, const Visit& visit) {
  const int64_t group_in = g.in_channels / g.groups, group_out = g.out_channels / g.groups;
  const int64_t out_h = g.out_h(), out_w = g.out_w();
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < g.out_channels; ++o) {
      const int64_t group = o / group_out;
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t y_index = ((n * g.out_channels + o) * out_h + oh) * out_w + ow;
          for (int64_t ci = 0; ci < group_in; ++ci) {
            const int64_t c = group * group_in + ci;
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
              if (ih < 0 || ih >= g.in_h) continue;
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
                if (iw < 0 || iw >= g.in_w) continue;
                const int64_t x_index = ((n * g.in_channels + c) * g.in_h + ih) * g.in_w + iw;
                const int64_t w_index = ((o * group_in + ci) * g.kernel_h + kh) * g.kernel_w + kw;
                visit(x_index, w_index, y_index);
              }
            }
          }
        }
    }
}

inline int64_t conv_input_size(const Conv2dGeometry& g) {
  return g.batch * g.in_channels * g.in_h * g.in_w;
}
inline int64_t conv_weight_size(const Conv2dGeometry& g) {
  return g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w;
}
inline int64_t conv_output_size(const Conv2dGeometry& g) {
  return g.batch * g.out_channels * g.out_h() * g.out_w();
}

// y = conv(x, w) + bias; bias may be empty.
inline std::vector<double> reference_conv_forward(const Conv2dGeometry& g, const std::vector<double>& x,
                                                  const std::vector<double>& w,
                                                  const std::vector<double>& bias) {
  std::vector<double> y(conv_output_size(g), 0.0);
  const int64_t out_plane = g.out_h() * g.out_w();
  if (!bias.empty())
    for (size_t i = 0; i < y.size(); ++i) y[i] = bias[(i / out_plane) % g.out_channels];
  for_each_conv_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

inline std::vector<double> reference_conv_backward_data(const Conv2dGeometry& g,
                                                        const std::vector<double>& dy,
                                                        const std::vector<double>& w) {
  std::vector<double> dx(conv_input_size(g), 0.0);
  for_each_conv_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

inline std::vector<double> reference_conv_backward_weight(const Conv2dGeometry& g,
                                                          const std::vector<double>& x,
                                                          const std::vector<double>& dy) {
  std::vector<double> dw(conv_weight_size(g), 0.0);
  for_each_conv_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += x[xi] * dy[yi]; });
  return dw;
}

inline std::vector<double> reference_conv_backward_bias(const Conv2dGeometry& g,
                                                        const std::vector<double>& dy) {
  std::vector<double> db(g.out_channels, 0.0);
  const int64_t out_plane = g.out_h() * g.out_w();
  for (size_t i = 0; i < dy.size(); ++i) db[(i / out_plane) % g.out_channels] += dy[i];
  return db;
}

}  // namespace frugal::test
