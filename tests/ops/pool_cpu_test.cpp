// Pooling kernels against an independent float64 reference; backward against central finite
// differences of that reference.
#include "ops/cpu/pool_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails

Pool2dGeometry geometry(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w, int64_t kernel_h,
                        int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h = 0,
                        int64_t pad_w = 0, bool count_include_pad = true) {
  Pool2dGeometry g{batch, channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w};
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.count_include_pad = count_include_pad;
  return g;
}

// Odd sizes, stride 2, overlapping windows, padding on one or both axes, exclusive-pad averaging.
std::vector<Pool2dGeometry> test_geometries() {
  return {geometry(2, 3, 7, 5, 3, 3, 2, 2, 1, 1),        geometry(1, 2, 6, 6, 2, 2, 2, 2),
          geometry(2, 1, 9, 8, 3, 2, 1, 2, 1, 0),        geometry(1, 2, 5, 5, 5, 5, 1, 1, 2, 2),
          geometry(3, 2, 7, 7, 3, 3, 2, 2, 1, 1, false), geometry(1, 1, 4, 6, 4, 1, 3, 1, 2, 0, false)};
}

std::string describe(const Pool2dGeometry& g) {
  return "[" + std::to_string(g.batch) + "," + std::to_string(g.channels) + "," + std::to_string(g.in_h) +
         "," + std::to_string(g.in_w) + "] k" + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) +
         " s" + std::to_string(g.stride_h) + "x" + std::to_string(g.stride_w) + " p" +
         std::to_string(g.pad_h) + "x" + std::to_string(g.pad_w) + (g.count_include_pad ? "" : " exclusive");
}

int64_t in_size(const Pool2dGeometry& g) { return g.batch * g.channels * g.in_h * g.in_w; }
int64_t out_size(const Pool2dGeometry& g) { return g.batch * g.channels * g.out_h() * g.out_w(); }

std::vector<float> random_floats(size_t n, uint64_t step) {
  std::vector<float> v(n);
  rng_normal(rng_key(31, RngStream::Test, step), v.data(), n);
  return v;
}

// Distinct values 0.01 apart in random order, so no window has a near-tie for finite differences.
std::vector<float> distinct_floats(size_t n, uint64_t step) {
  const std::vector<int64_t> perm = rng_permutation(rng_key(32, RngStream::Test, step), n);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>(perm[i]) - 0.005f * n;
  return v;
}

std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                     std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2.0 * h);
  }
  return g;
}

double dot(const std::vector<double>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Pooling in float64 by visiting every kernel tap of every window; taps in the padding are skipped.
// is_max: max over the in-range taps; otherwise their sum over the kernel area (count_include_pad) or
// over the number of in-range taps.
std::vector<double> pool_reference(const Pool2dGeometry& g, const std::vector<double>& x, bool is_max) {
  std::vector<double> y;
  for (int64_t plane = 0; plane < g.batch * g.channels; ++plane)
    for (int64_t oh = 0; oh < g.out_h(); ++oh)
      for (int64_t ow = 0; ow < g.out_w(); ++ow) {
        double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
        int64_t taps = 0;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh)
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t h = oh * g.stride_h - g.pad_h + kh, w = ow * g.stride_w - g.pad_w + kw;
            if (h < 0 || h >= g.in_h || w < 0 || w >= g.in_w) continue;
            const double v = x[(plane * g.in_h + h) * g.in_w + w];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++taps;
          }
        if (!is_max) acc /= g.count_include_pad ? static_cast<double>(g.kernel_h * g.kernel_w) : taps;
        y.push_back(acc);
      }
  return y;
}

TEST(PoolCpu, OutputSizeUsesFloorMode) {
  EXPECT_EQ(geometry(1, 1, 7, 8, 3, 3, 2, 2, 1, 1).out_h(), 4);  // (7 + 2 - 3) / 2 + 1
  EXPECT_EQ(geometry(1, 1, 7, 8, 3, 3, 2, 2, 1, 1).out_w(), 4);  // (8 + 2 - 3) / 2 + 1, floored
  EXPECT_EQ(geometry(1, 1, 6, 6, 2, 2, 2, 2).out_h(), 3);
}

TEST(PoolCpu, MaxForwardMatchesReferenceAndArgmaxPointsAtMaximum) {
  for (const Pool2dGeometry& g : test_geometries()) {
    const std::vector<float> x = random_floats(in_size(g), 1);
    std::vector<float> y(out_size(g));
    std::vector<uint8_t> argmax(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
    EXPECT_LT(max_relative_error(y, pool_reference(g, {x.begin(), x.end()}, true)), 1e-5) << describe(g);
    const int64_t per_plane = g.out_h() * g.out_w();
    for (int64_t o = 0; o < out_size(g); ++o) {
      const int64_t plane = o / per_plane, oh = (o % per_plane) / g.out_w(), ow = o % g.out_w();
      const int64_t h = oh * g.stride_h - g.pad_h + argmax[o] / g.kernel_w;
      const int64_t w = ow * g.stride_w - g.pad_w + argmax[o] % g.kernel_w;
      ASSERT_TRUE(h >= 0 && h < g.in_h && w >= 0 && w < g.in_w) << describe(g) << " output " << o;
      EXPECT_EQ(x[(plane * g.in_h + h) * g.in_w + w], y[o]) << describe(g) << " output " << o;
    }
  }
}

TEST(PoolCpu, MaxPaddingNeverWinsOverNegativeInputs) {
  const Pool2dGeometry g = geometry(1, 1, 3, 3, 3, 3, 1, 1, 1, 1);
  std::vector<float> x(9, -5.0f), y(9);
  x[4] = -std::numeric_limits<float>::infinity();
  std::vector<uint8_t> argmax(9);
  maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
  for (float v : y) EXPECT_EQ(v, -5.0f);
}

TEST(PoolCpu, MaxBackwardMatchesFiniteDifferences) {
  for (const Pool2dGeometry& g : test_geometries()) {
    const std::vector<float> x = distinct_floats(in_size(g), 2), dy = random_floats(out_size(g), 3);
    std::vector<float> y(out_size(g)), dx(in_size(g), 7.0f);  // 7: dx must be overwritten
    std::vector<uint8_t> argmax(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
    maxpool2d_backward_cpu(g, dy.data(), argmax.data(), dx.data());
    const auto numeric = numeric_gradient(
        [&](const std::vector<double>& v) { return dot(pool_reference(g, v, true), dy); },
        {x.begin(), x.end()});
    EXPECT_LT(max_relative_error(dx, numeric), 1e-4) << describe(g);
  }
}

TEST(PoolCpu, AvgForwardMatchesReference) {
  for (const Pool2dGeometry& g : test_geometries()) {
    const std::vector<float> x = random_floats(in_size(g), 4);
    std::vector<float> y(out_size(g));
    avgpool2d_forward_cpu(g, x.data(), y.data());
    EXPECT_LT(max_relative_error(y, pool_reference(g, {x.begin(), x.end()}, false)), 1e-5) << describe(g);
  }
}

TEST(PoolCpu, AvgBackwardMatchesFiniteDifferences) {
  for (const Pool2dGeometry& g : test_geometries()) {
    const std::vector<float> x = random_floats(in_size(g), 5), dy = random_floats(out_size(g), 6);
    std::vector<float> dx(in_size(g), 7.0f);
    avgpool2d_backward_cpu(g, dy.data(), dx.data());
    const auto numeric = numeric_gradient(
        [&](const std::vector<double>& v) { return dot(pool_reference(g, v, false), dy); },
        {x.begin(), x.end()});
    EXPECT_LT(max_relative_error(dx, numeric), 1e-4) << describe(g);
  }
}

TEST(PoolCpu, GlobalAvgMatchesReferenceAndFiniteDifferences) {
  for (int64_t s : {1, 7, 49}) {
    const int64_t n = 3, c = 5;
    const std::vector<float> x = random_floats(n * c * s, 7), dy = random_floats(n * c, 8);
    auto reference = [&](const std::vector<double>& v) {
      std::vector<double> y(n * c, 0.0);
      for (int64_t p = 0; p < n * c; ++p)
        for (int64_t j = 0; j < s; ++j) y[p] += v[p * s + j] / s;
      return y;
    };
    std::vector<float> y(n * c), dx(n * c * s);
    global_avgpool_forward_cpu(n, c, s, x.data(), y.data());
    global_avgpool_backward_cpu(n, c, s, dy.data(), dx.data());
    const std::vector<double> xd(x.begin(), x.end());
    EXPECT_LT(max_relative_error(y, reference(xd)), 1e-5) << "s=" << s;
    const auto numeric =
        numeric_gradient([&](const std::vector<double>& v) { return dot(reference(v), dy); }, xd);
    EXPECT_LT(max_relative_error(dx, numeric), 1e-4) << "s=" << s;
  }
}

// 2x2 windows with stride 2 and no padding take a fast path that cuts the input into bands of rows,
// across planes when the height is even: bands that end inside a plane, several bands per plane
// (wide rows), odd sizes (a last row or column outside every window, whose gradient must be 0), and
// one input large enough to run on several threads.
std::vector<Pool2dGeometry> tiling_2x2_geometries() {
  return {geometry(8, 16, 8, 6, 2, 2, 2, 2),   geometry(2, 3, 7, 9, 2, 2, 2, 2),
          geometry(2, 2, 10, 700, 2, 2, 2, 2), geometry(1, 3, 9, 601, 2, 2, 2, 2),
          geometry(4, 1, 2, 2, 2, 2, 2, 2),    geometry(4, 8, 32, 33, 2, 2, 2, 2)};
}

// Index into x of the input that max-pool output o's argmax points at.
int64_t argmax_input(const Pool2dGeometry& g, int64_t o, uint8_t argmax) {
  const int64_t per_plane = g.out_h() * g.out_w();
  const int64_t plane = o / per_plane, oh = (o % per_plane) / g.out_w(), ow = o % g.out_w();
  const int64_t h = oh * g.stride_h - g.pad_h + argmax / g.kernel_w;
  const int64_t w = ow * g.stride_w - g.pad_w + argmax % g.kernel_w;
  return (plane * g.in_h + h) * g.in_w + w;
}

TEST(PoolCpu, TwoByTwoFastPathMatchesReferencesAcrossBandsPlanesAndOddSizes) {
  for (const Pool2dGeometry& g : tiling_2x2_geometries()) {
    const std::vector<float> x = random_floats(in_size(g), 11), dy = random_floats(out_size(g), 12);
    const std::vector<double> xd(x.begin(), x.end());
    std::vector<float> y(out_size(g)), dx(in_size(g), 7.0f);  // 7: dx must be overwritten
    std::vector<uint8_t> argmax(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
    EXPECT_LT(max_relative_error(y, pool_reference(g, xd, true)), 1e-6) << describe(g);
    std::vector<float> y_inference(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y_inference.data(), nullptr);  // no argmax: inference
    EXPECT_EQ(y_inference, y) << describe(g);
    std::vector<double> want(in_size(g), 0.0);  // dy at each window's argmax, 0 elsewhere
    for (int64_t o = 0; o < out_size(g); ++o) {
      ASSERT_LT(argmax[o], 4) << describe(g);
      ASSERT_EQ(x[argmax_input(g, o, argmax[o])], y[o]) << describe(g) << " output " << o;
      want[argmax_input(g, o, argmax[o])] = dy[o];
    }
    maxpool2d_backward_cpu(g, dy.data(), argmax.data(), dx.data());
    EXPECT_LT(max_relative_error(dx, want), 1e-6) << describe(g);

    avgpool2d_forward_cpu(g, x.data(), y.data());
    EXPECT_LT(max_relative_error(y, pool_reference(g, xd, false)), 1e-6) << describe(g);
    std::fill(want.begin(), want.end(), 0.0);  // dy/4 over each window, 0 outside every window
    for (int64_t o = 0; o < out_size(g); ++o)
      for (uint8_t k = 0; k < 4; ++k) want[argmax_input(g, o, k)] = dy[o] / 4.0;
    std::fill(dx.begin(), dx.end(), 7.0f);
    avgpool2d_backward_cpu(g, dy.data(), dx.data());
    EXPECT_LT(max_relative_error(dx, want), 1e-6) << describe(g);
  }
}

TEST(PoolCpu, TwoByTwoMaxKeepsTheFirstOfTiesAndPropagatesTheFirstNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Pool2dGeometry g = geometry(1, 1, 2, 10, 2, 2, 2, 2);
  // Windows (top-left, top-right, bottom-left, bottom-right), one per column pair.
  const std::vector<std::vector<float>> windows = {
      {1, 3, 3, 2}, {5, 5, 5, 5}, {1, nan, 9, nan}, {nan, 1, 2, 3}, {-1, -2, -3, nan}};
  const std::vector<int> want_index = {1, 0, 1, 0, 3};
  std::vector<float> x(20);
  for (int w = 0; w < 5; ++w)
    for (int k = 0; k < 4; ++k) x[(k / 2) * 10 + 2 * w + k % 2] = windows[w][k];
  std::vector<float> y(5);
  std::vector<uint8_t> argmax(5);
  maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
  for (int w = 0; w < 5; ++w) {
    EXPECT_EQ(argmax[w], want_index[w]) << "window " << w;
    const float want = windows[w][want_index[w]];
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(y[w])) << "window " << w;
    else
      EXPECT_EQ(y[w], want) << "window " << w;
  }
}

// Expects validate_pool2d to throw ShapeError whose message names `where` and contains `detail`.
void expect_rejected(const Pool2dGeometry& g, PoolKind kind, const std::string& detail) {
  try {
    validate_pool2d(g, "features.3", kind);
    ADD_FAILURE() << "expected ShapeError for " << describe(g);
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("features.3"), std::string::npos) << msg;
    EXPECT_NE(msg.find(detail), std::string::npos) << msg;
  }
}

TEST(PoolCpu, ValidationAcceptsPyTorchLegalGeometries) {
  for (const Pool2dGeometry& g : test_geometries()) {
    EXPECT_NO_THROW(validate_pool2d(g, "pool", PoolKind::Max)) << describe(g);
    EXPECT_NO_THROW(validate_pool2d(g, "pool", PoolKind::Avg)) << describe(g);
  }
}

TEST(PoolCpu, ValidationRejectsPaddingOverHalfKernelNamingWhere) {
  expect_rejected(geometry(1, 1, 8, 8, 3, 3, 1, 1, 2, 0), PoolKind::Avg, "at most half the kernel");
}

TEST(PoolCpu, ValidationRejectsKernelLargerThanPaddedInput) {
  expect_rejected(geometry(1, 1, 2, 8, 5, 3, 1, 1, 1, 1), PoolKind::Max, "larger than the padded input");
}

TEST(PoolCpu, ValidationRejectsZeroStrideAndEmptyInput) {
  expect_rejected(geometry(1, 1, 8, 8, 2, 2, 0, 2), PoolKind::Max, "stride");
  expect_rejected(geometry(1, 1, 0, 8, 2, 2, 2, 2), PoolKind::Max, "input size");
}

TEST(PoolCpu, ValidationLimitsMaxPoolWindowTo255ButNotAvgPool) {
  const Pool2dGeometry g = geometry(1, 1, 16, 16, 16, 16, 1, 1);
  expect_rejected(g, PoolKind::Max, "255");
  EXPECT_NO_THROW(validate_pool2d(g, "pool", PoolKind::Avg));
  EXPECT_NO_THROW(validate_pool2d(geometry(1, 1, 15, 17, 15, 17, 1, 1), "pool", PoolKind::Max));
}

TEST(PoolCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  const Pool2dGeometry g = geometry(8, 16, 17, 17, 3, 3, 2, 2, 1, 1);  // overlapping windows
  const std::vector<float> x = random_floats(in_size(g), 9), dy = random_floats(out_size(g), 10);
  const int64_t gs = g.in_h * g.in_w;
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> y(out_size(g)), avg(out_size(g)), dx_max(in_size(g)), dx_avg(in_size(g));
    std::vector<float> global(g.batch * g.channels), dx_global(in_size(g));
    std::vector<uint8_t> argmax(out_size(g));
    maxpool2d_forward_cpu(g, x.data(), y.data(), argmax.data());
    maxpool2d_backward_cpu(g, dy.data(), argmax.data(), dx_max.data());
    avgpool2d_forward_cpu(g, x.data(), avg.data());
    avgpool2d_backward_cpu(g, dy.data(), dx_avg.data());
    global_avgpool_forward_cpu(g.batch, g.channels, gs, x.data(), global.data());
    global_avgpool_backward_cpu(g.batch, g.channels, gs, dy.data(), dx_global.data());
    omp_set_num_threads(before);
    std::vector<float> all;
    for (const auto* v : {&y, &avg, &dx_max, &dx_avg, &global, &dx_global})
      all.insert(all.end(), v->begin(), v->end());
    all.insert(all.end(), argmax.begin(), argmax.end());
    return all;
  };
  const std::vector<float> once = run(1);
  EXPECT_EQ(once, run(2));
  EXPECT_EQ(once, run(2));
}

}  // namespace
}  // namespace frugal
