// The shared host/device pooling arithmetic (ops/pool_math.h) that the CUDA kernels run, one output
// window (forward) or one input element (backward gather) at a time, held against the CPU kernels on
// random inputs: generic windows and the CPU's 2x2 fast path, padding, stride 2, overlapping windows,
// exclusive-pad averaging, ties and NaN.
#include "ops/pool_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/cpu/pool_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

namespace pm = pool_math;
using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;
constexpr double kReductionTolerance = 1e-4;

Pool2dGeometry geometry(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w, int64_t kernel_h, int64_t kernel_w,
                        int64_t stride_h, int64_t stride_w, int64_t pad_h = 0, int64_t pad_w = 0,
                        bool count_include_pad = true) {
  Pool2dGeometry g{batch, channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w};
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.count_include_pad = count_include_pad;
  return g;
}

// Generic shapes, and 2x2/stride 2 shapes the CPU serves with its banded fast path (even and odd sizes).
std::vector<Pool2dGeometry> geometries() {
  return {geometry(2, 3, 7, 5, 3, 3, 2, 2, 1, 1),
          geometry(1, 2, 6, 6, 2, 2, 2, 2),
          geometry(2, 1, 9, 8, 3, 2, 1, 2, 1, 0),
          geometry(1, 2, 5, 5, 5, 5, 1, 1, 2, 2),
          geometry(3, 2, 7, 7, 3, 3, 2, 2, 1, 1, false),
          geometry(1, 1, 4, 6, 4, 1, 3, 1, 2, 0, false),
          geometry(2, 3, 7, 9, 2, 2, 2, 2),
          geometry(2, 2, 28, 28, 2, 2, 2, 2)};
}

std::string describe(const Pool2dGeometry& g) {
  return std::to_string(g.batch) + "x" + std::to_string(g.channels) + "x" + std::to_string(g.in_h) + "x" +
         std::to_string(g.in_w) + " k" + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) + " s" +
         std::to_string(g.stride_h) + "x" + std::to_string(g.stride_w) + " p" + std::to_string(g.pad_h) + "x" +
         std::to_string(g.pad_w) + (g.count_include_pad ? "" : " exclusive");
}

int64_t in_size(const Pool2dGeometry& g) { return g.batch * g.channels * g.in_h * g.in_w; }
int64_t out_size(const Pool2dGeometry& g) { return g.batch * g.channels * g.out_h() * g.out_w(); }

// Inputs on a coarse grid, so windows hold ties; a few NaN when asked.
std::vector<float> input(const Pool2dGeometry& g, uint64_t step, bool with_nan) {
  std::vector<float> x = test::random_floats(static_cast<size_t>(in_size(g)), 51, step, -4.0f, 4.0f);
  for (float& v : x) v = std::round(v * 2.0f) / 2.0f;
  if (with_nan)
    for (size_t i = 3; i < x.size(); i += 17) x[i] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

TEST(PoolMath, MaxForwardMatchesTheCpuKernelWithTiesAndNan) {
  for (const Pool2dGeometry& g : geometries())
    for (bool with_nan : {false, true}) {
      const std::vector<float> x = input(g, 1, with_nan);
      std::vector<float> cpu(out_size(g)), shared(out_size(g));
      std::vector<uint8_t> cpu_arg(out_size(g)), shared_arg(out_size(g));
      maxpool2d_forward_cpu(g, x.data(), cpu.data(), cpu_arg.data());
      const int64_t oh_n = g.out_h(), ow_n = g.out_w();
      for (int64_t p = 0; p < g.batch * g.channels; ++p)
        for (int64_t oh = 0; oh < oh_n; ++oh)
          for (int64_t ow = 0; ow < ow_n; ++ow) {
            const int64_t o = (p * oh_n + oh) * ow_n + ow;
            shared[o] = pm::window_max(g, x.data() + p * g.in_h * g.in_w, oh, ow, &shared_arg[o]);
          }
      EXPECT_EQ(shared_arg, cpu_arg) << describe(g);
      for (size_t i = 0; i < cpu.size(); ++i)
        ASSERT_TRUE(shared[i] == cpu[i] || (std::isnan(shared[i]) && std::isnan(cpu[i]))) << describe(g) << " " << i;
    }
}

TEST(PoolMath, MaxBackwardGatherMatchesTheCpuScatter) {
  for (const Pool2dGeometry& g : geometries()) {
    const std::vector<float> x = input(g, 2, false), dy = test::random_floats(out_size(g), 51, 3);
    std::vector<float> y(out_size(g)), cpu(in_size(g)), shared(in_size(g));
    std::vector<uint8_t> arg(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y.data(), arg.data());
    maxpool2d_backward_cpu(g, dy.data(), arg.data(), cpu.data());
    const int64_t oh_n = g.out_h(), ow_n = g.out_w(), out_plane = oh_n * ow_n;
    for (int64_t p = 0; p < g.batch * g.channels; ++p)
      for (int64_t h = 0; h < g.in_h; ++h)
        for (int64_t w = 0; w < g.in_w; ++w)
          shared[(p * g.in_h + h) * g.in_w + w] =
              pm::max_backward_at(g, oh_n, ow_n, dy.data() + p * out_plane, arg.data() + p * out_plane, h, w);
    EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << describe(g);
  }
}

TEST(PoolMath, AverageForwardAndBackwardMatchTheCpuKernels) {
  for (const Pool2dGeometry& g : geometries()) {
    const std::vector<float> x = test::random_floats(in_size(g), 52, 1), dy = test::random_floats(out_size(g), 52, 2);
    std::vector<float> cpu_y(out_size(g)), shared_y(out_size(g)), cpu_dx(in_size(g)), shared_dx(in_size(g));
    avgpool2d_forward_cpu(g, x.data(), cpu_y.data());
    avgpool2d_backward_cpu(g, dy.data(), cpu_dx.data());
    const int64_t oh_n = g.out_h(), ow_n = g.out_w(), out_plane = oh_n * ow_n, in_plane = g.in_h * g.in_w;
    for (int64_t p = 0; p < g.batch * g.channels; ++p) {
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow)
          shared_y[(p * oh_n + oh) * ow_n + ow] = pm::window_mean(g, x.data() + p * in_plane, oh, ow);
      for (int64_t h = 0; h < g.in_h; ++h)
        for (int64_t w = 0; w < g.in_w; ++w)
          shared_dx[p * in_plane + h * g.in_w + w] =
              pm::avg_backward_at(g, oh_n, ow_n, dy.data() + p * out_plane, h, w);
    }
    EXPECT_LT(max_relative_error(shared_y, to_double(cpu_y)), kElementwiseTolerance) << describe(g);
    EXPECT_LT(max_relative_error(shared_dx, to_double(cpu_dx)), kElementwiseTolerance) << describe(g);
  }
}

TEST(PoolMath, CoveringWindowsAreExactlyThoseContainingTheElement) {
  for (int64_t kernel : {1, 2, 3, 5})
    for (int64_t stride : {1, 2, 3})
      for (int64_t pad = 0; pad <= kernel / 2; ++pad) {
        const int64_t in = 11, out = (in + 2 * pad - kernel) / stride + 1;
        for (int64_t i = 0; i < in; ++i) {
          const pm::Cover c = pm::covering(i, kernel, stride, pad, out);
          for (int64_t o = 0; o < out; ++o) {
            const bool contains = o * stride - pad <= i && i < o * stride - pad + kernel;
            EXPECT_EQ(contains, o >= c.first && o <= c.last) << kernel << " " << stride << " " << pad << " " << i;
          }
        }
      }
}

// The CUDA kernel's warp: lane l sums values l, l + 32, ... in double, then lanes combine pairwise.
double warp_plane_sum(const float* x, int64_t s) {
  double lane[32] = {};
  for (int64_t j = 0; j < s; ++j) lane[j % 32] += static_cast<double>(x[j]);
  for (int width = 16; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
  return lane[0];
}

TEST(PoolMath, GlobalAverageMatchesTheCpuKernelBitForBitAndFloat64) {
  for (int64_t s : {1, 7, 16, 49, 64, 100, 1031}) {
    const int64_t n = 3, c = 5;
    const std::vector<float> x = test::random_floats(n * c * s, 53, s), dy = test::random_floats(n * c, 54, s);
    std::vector<float> cpu(n * c), shared(n * c), cpu_dx(n * c * s), shared_dx(n * c * s);
    std::vector<double> reference(n * c, 0.0);
    global_avgpool_forward_cpu(n, c, s, x.data(), cpu.data());
    global_avgpool_backward_cpu(n, c, s, dy.data(), cpu_dx.data());
    for (int64_t p = 0; p < n * c; ++p) {
      shared[p] = pm::global_mean(warp_plane_sum(x.data() + p * s, s), s);
      for (int64_t j = 0; j < s; ++j) {
        reference[p] += x[p * s + j] / static_cast<double>(s);
        shared_dx[p * s + j] = pm::global_share(dy[p], s);
      }
    }
    EXPECT_TRUE(test::bit_identical(shared, cpu)) << "S=" << s;
    EXPECT_LT(max_relative_error(shared, reference), kReductionTolerance) << "S=" << s;
    EXPECT_LT(max_relative_error(shared_dx, to_double(cpu_dx)), kElementwiseTolerance) << "S=" << s;
  }
}

}  // namespace
}  // namespace frugal
