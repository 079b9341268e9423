// The CUDA convolution (cuDNN) and fully connected / GEMM (cuBLAS) kernels against float64 references
// (the CPU tests' own, tests/ops/conv_test_util.h) and the CPU kernels: stride 2, padding, dilation,
// groups, bias, accumulating gradients, both workspace settings, workspaces of exactly the reported
// size (guarded), and the same bits twice under the default deterministic algorithms.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/cuda/dense_test_util.h"
#include "tests/ops/conv_test_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;
using testing::kReductionTolerance;
using testing::OnGpu;

constexpr float kGuard = -12345.0f;  // written after a workspace; a pass that overruns it changes it

struct NamedGeometry {
  std::string name;
  Conv2dGeometry g;
};

Conv2dGeometry geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t stride = 1,
                        int64_t pad = 0, int64_t dilation = 1, int64_t groups = 1) {
  Conv2dGeometry g{n, c, h, w, o, k, k};
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  g.dilation_h = g.dilation_w = dilation;
  g.groups = groups;
  return g;
}

Conv2dGeometry non_square() {  // H != W, KH != KW, per-axis stride, padding and dilation
  Conv2dGeometry g = geometry(2, 3, 6, 13, 5, 2);
  g.kernel_w = 5;
  g.stride_w = 2;
  g.pad_w = 2;
  g.dilation_h = 2;
  return g;
}

std::vector<NamedGeometry> conv_shapes() {
  return {{"k3_pad1", geometry(2, 3, 8, 8, 4, 3, 1, 1)},
          {"odd_sizes_stride2", geometry(3, 5, 11, 9, 7, 3, 2, 1)},
          {"dilation2", geometry(2, 4, 10, 12, 6, 3, 1, 2, 2)},
          {"groups2", geometry(2, 6, 7, 7, 4, 3, 1, 1, 1, 2)},
          {"groups3_channel_multiplier", geometry(5, 6, 6, 5, 9, 3, 1, 0, 1, 3)},
          {"depthwise_stride2", geometry(2, 8, 9, 9, 8, 3, 2, 1, 1, 8)},
          {"pointwise_1x1_stride2", geometry(2, 6, 7, 7, 5, 1, 2)},
          {"non_square", non_square()},
          {"resnet_block", geometry(8, 16, 32, 32, 16, 3, 1, 1)},
          {"resnet_downsample", geometry(8, 16, 32, 32, 32, 3, 2, 1)},
          {"wide_k5", geometry(4, 32, 12, 12, 24, 5, 1, 2)}};
}

Conv2dGeometry with_winograd(Conv2dGeometry g, bool on) {
  g.winograd = on;
  return g;
}

// A GPU workspace of exactly `bytes`, followed by guard values.
class GuardedWorkspace {
 public:
  explicit GuardedWorkspace(size_t bytes)
      : floats_((bytes + sizeof(float) - 1) / sizeof(float)), buffer_(std::vector<float>(floats_ + 64, kGuard)) {}
  float* get() const { return buffer_.get(); }
  bool guard_intact() const {
    const std::vector<float> all = buffer_.host();
    for (size_t i = floats_; i < all.size(); ++i)
      if (all[i] != kGuard) return false;
    return true;
  }

 private:
  size_t floats_;
  OnGpu<float> buffer_;
};

struct ConvResults {
  std::vector<float> y, dx, dw, db;
};

// Every pass of g on the GPU (dw and db accumulate into `start` when asked).
ConvResults run_conv(const Kernels& cuda, const Conv2dGeometry& g, const std::vector<float>& x,
                     const std::vector<float>& w, const std::vector<float>& bias, const std::vector<float>& dy,
                     bool accumulate, const std::vector<float>& start_dw, const std::vector<float>& start_db,
                     const std::string& what) {
  const OnGpu<float> gx(x), gw(w), gb(bias), gdy(dy);
  OnGpu<float> gy(testing::nan_filled(test::conv_output_size(g))), gdx(testing::nan_filled(x.size()));
  OnGpu<float> gdw(start_dw), gdb(start_db);
  GuardedWorkspace forward_ws(cuda.conv2d_forward_workspace_bytes(g));
  GuardedWorkspace backward_ws(cuda.conv2d_backward_workspace_bytes(g));
  cuda.conv2d_forward(g, gx.get(), gw.get(), gb.get(), gy.get(), forward_ws.get());
  cuda.conv2d_backward_data(g, gdy.get(), gw.get(), gdx.get(), backward_ws.get());
  cuda.conv2d_backward_weight(g, gx.get(), gdy.get(), gdw.get(), gdb.get(), backward_ws.get(), accumulate);
  EXPECT_TRUE(forward_ws.guard_intact()) << what << ": forward wrote past its workspace";
  EXPECT_TRUE(backward_ws.guard_intact()) << what << ": backward wrote past its workspace";
  return {gy.host(), gdx.host(), gdw.host(), gdb.host()};
}

TEST(ConvCuda, EveryPassMatchesFloat64OnEveryShapeAndWorkspaceSetting) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const NamedGeometry& shape : conv_shapes())
    for (bool winograd : {true, false})
      for (bool accumulate : {false, true}) {
        const Conv2dGeometry g = with_winograd(shape.g, winograd);
        const std::string what =
            shape.name + (winograd ? " winograd" : " small-workspace") + (accumulate ? " accumulate" : "");
        const std::vector<float> x = random_floats(test::conv_input_size(g), 91, 0);
        const std::vector<float> w = random_floats(test::conv_weight_size(g), 91, 1);
        const std::vector<float> bias = random_floats(g.out_channels, 91, 2);
        const std::vector<float> dy = random_floats(test::conv_output_size(g), 91, 3);
        const std::vector<float> start_dw = random_floats(w.size(), 91, 4),
                                 start_db = random_floats(bias.size(), 91, 5);
        const ConvResults r = run_conv(*cuda, g, x, w, bias, dy, accumulate, start_dw, start_db, what);
        std::vector<double> ref_dw = test::reference_conv_backward_weight(g, to_double(x), to_double(dy));
        std::vector<double> ref_db = test::reference_conv_backward_bias(g, to_double(dy));
        if (accumulate) {
          for (size_t i = 0; i < ref_dw.size(); ++i) ref_dw[i] += start_dw[i];
          for (size_t i = 0; i < ref_db.size(); ++i) ref_db[i] += start_db[i];
        }
        EXPECT_LT(max_relative_error(r.y, test::reference_conv_forward(g, to_double(x), to_double(w), to_double(bias))),
                  kReductionTolerance)
            << what;
        EXPECT_LT(max_relative_error(r.dx, test::reference_conv_backward_data(g, to_double(dy), to_double(w))),
                  kReductionTolerance)
            << what;
        EXPECT_LT(max_relative_error(r.dw, ref_dw), kReductionTolerance) << what;
        EXPECT_LT(max_relative_error(r.db, ref_db), kReductionTolerance) << what;
      }
}

TEST(ConvCuda, ForwardWithoutBiasAndWeightGradientWithoutBiasGradient) {
  FRUGAL_REQUIRE_GPU(cuda);
  const Conv2dGeometry g = geometry(3, 5, 11, 9, 7, 3, 2, 1);
  const std::vector<float> x = random_floats(test::conv_input_size(g), 92, 0);
  const std::vector<float> w = random_floats(test::conv_weight_size(g), 92, 1);
  const std::vector<float> dy = random_floats(test::conv_output_size(g), 92, 2);
  const OnGpu<float> gx(x), gw(w), gdy(dy);
  OnGpu<float> gy(testing::nan_filled(test::conv_output_size(g))), gdw(testing::nan_filled(w.size()));
  GuardedWorkspace fws(cuda->conv2d_forward_workspace_bytes(g)), bws(cuda->conv2d_backward_workspace_bytes(g));
  cuda->conv2d_forward(g, gx.get(), gw.get(), nullptr, gy.get(), fws.get());
  cuda->conv2d_backward_weight(g, gx.get(), gdy.get(), gdw.get(), nullptr, bws.get(), false);
  EXPECT_LT(max_relative_error(gy.host(), test::reference_conv_forward(g, to_double(x), to_double(w), {})),
            kReductionTolerance);
  EXPECT_LT(max_relative_error(gdw.host(), test::reference_conv_backward_weight(g, to_double(x), to_double(dy))),
            kReductionTolerance);
}

TEST(ConvCuda, TurningTheLargerWorkspaceOffNeverNeedsMoreWorkspace) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const NamedGeometry& shape : conv_shapes()) {
    const Conv2dGeometry on = with_winograd(shape.g, true), off = with_winograd(shape.g, false);
    EXPECT_FALSE(cuda->conv2d_winograd_applies(off)) << shape.name;
    EXPECT_LE(cuda->conv2d_forward_workspace_bytes(off), cuda->conv2d_forward_workspace_bytes(on)) << shape.name;
    EXPECT_LE(cuda->conv2d_backward_workspace_bytes(off), cuda->conv2d_backward_workspace_bytes(on)) << shape.name;
    if (!cuda->conv2d_winograd_applies(on)) {
      EXPECT_EQ(cuda->conv2d_forward_workspace_bytes(off), cuda->conv2d_forward_workspace_bytes(on)) << shape.name;
      EXPECT_EQ(cuda->conv2d_backward_workspace_bytes(off), cuda->conv2d_backward_workspace_bytes(on)) << shape.name;
    }
  }
}

TEST(ConvCuda, DeterministicAlgorithmsGiveTheSameBitsTwice) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const NamedGeometry& shape : conv_shapes()) {
    const Conv2dGeometry& g = shape.g;
    const std::vector<float> x = random_floats(test::conv_input_size(g), 93, 0);
    const std::vector<float> w = random_floats(test::conv_weight_size(g), 93, 1);
    const std::vector<float> bias = random_floats(g.out_channels, 93, 2);
    const std::vector<float> dy = random_floats(test::conv_output_size(g), 93, 3);
    const std::vector<float> zeros_w(w.size(), 0.0f), zeros_b(bias.size(), 0.0f);
    const ConvResults a = run_conv(*cuda, g, x, w, bias, dy, false, zeros_w, zeros_b, shape.name);
    const ConvResults b = run_conv(*cuda, g, x, w, bias, dy, false, zeros_w, zeros_b, shape.name);
    EXPECT_TRUE(test::bit_identical(a.y, b.y)) << shape.name;
    EXPECT_TRUE(test::bit_identical(a.dx, b.dx)) << shape.name;
    EXPECT_TRUE(test::bit_identical(a.dw, b.dw)) << shape.name;
    EXPECT_TRUE(test::bit_identical(a.db, b.db)) << shape.name;
  }
}

// Turns the determinism switch off for one test and back on afterwards, even when the test fails. Through
// the device runtime, as the trainer sets it (the backend is a module this executable does not link).
struct NonDeterministicScope {
  NonDeterministicScope() { device_runtime(Device::CUDA).set_deterministic(false); }
  ~NonDeterministicScope() { device_runtime(Device::CUDA).set_deterministic(true); }
};

TEST(ConvCuda, NonDeterministicAlgorithmsStayWithinTolerance) {
  FRUGAL_REQUIRE_GPU(cuda);
  const NonDeterministicScope scope;
  for (const NamedGeometry& shape : conv_shapes()) {
    const Conv2dGeometry& g = shape.g;
    const std::vector<float> x = random_floats(test::conv_input_size(g), 94, 0);
    const std::vector<float> w = random_floats(test::conv_weight_size(g), 94, 1);
    const std::vector<float> bias = random_floats(g.out_channels, 94, 2);
    const std::vector<float> dy = random_floats(test::conv_output_size(g), 94, 3);
    const ConvResults r = run_conv(*cuda, g, x, w, bias, dy, false, std::vector<float>(w.size()),
                                   std::vector<float>(bias.size()), shape.name);
    EXPECT_LT(max_relative_error(r.dx, test::reference_conv_backward_data(g, to_double(dy), to_double(w))),
              kReductionTolerance)
        << shape.name;
    EXPECT_LT(max_relative_error(r.dw, test::reference_conv_backward_weight(g, to_double(x), to_double(dy))),
              kReductionTolerance)
        << shape.name;
  }
}

// ---- Fully connected and GEMM ----

struct LinearShape {
  int64_t n, in, out;
};
const LinearShape kLinearShapes[] = {{1, 1, 1}, {7, 13, 5}, {128, 784, 100}, {64, 512, 10}, {3, 1000, 257}};

std::vector<double> reference_linear(const LinearShape& s, const std::vector<float>& x, const std::vector<float>& w,
                                     const float* bias) {
  std::vector<double> y(s.n * s.out);
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t o = 0; o < s.out; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (int64_t k = 0; k < s.in; ++k) sum += static_cast<double>(x[i * s.in + k]) * w[o * s.in + k];
      y[i * s.out + o] = sum;
    }
  return y;
}

TEST(LinearCuda, EveryPassMatchesFloat64AndRepeatsBitForBit) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const LinearShape& s : kLinearShapes)
    for (bool accumulate : {false, true}) {
      const std::string what = std::to_string(s.n) + "x" + std::to_string(s.in) + "->" + std::to_string(s.out) +
                               (accumulate ? " accumulate" : "");
      const std::vector<float> x = random_floats(s.n * s.in, 95, 0), w = random_floats(s.out * s.in, 95, 1);
      const std::vector<float> b = random_floats(s.out, 95, 2), dy = random_floats(s.n * s.out, 95, 3);
      const std::vector<float> start_dw = random_floats(w.size(), 95, 4), start_db = random_floats(b.size(), 95, 5);
      const OnGpu<float> gx(x), gw(w), gb(b), gdy(dy);
      OnGpu<float> gy(testing::nan_filled(s.n * s.out)), gy_nobias(testing::nan_filled(s.n * s.out));
      OnGpu<float> gdx(testing::nan_filled(x.size())), gdw(start_dw), gdb(start_db), again(start_dw);
      cuda->linear_forward(s.n, s.in, s.out, gx.get(), gw.get(), gb.get(), gy.get());
      cuda->linear_forward(s.n, s.in, s.out, gx.get(), gw.get(), nullptr, gy_nobias.get());
      cuda->linear_backward_data(s.n, s.in, s.out, gdy.get(), gw.get(), gdx.get());
      cuda->linear_backward_weight(s.n, s.in, s.out, gx.get(), gdy.get(), gdw.get(), gdb.get(), accumulate);
      cuda->linear_backward_weight(s.n, s.in, s.out, gx.get(), gdy.get(), again.get(), nullptr, accumulate);
      // dx = dy w and dw = dy^T x are linears of their own: dx[i, k] = sum_o dy[i, o] w[o, k].
      std::vector<double> ref_dx(x.size(), 0.0), ref_dw(w.size(), 0.0), ref_db(b.size(), 0.0);
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t o = 0; o < s.out; ++o) {
          const double g = dy[i * s.out + o];
          ref_db[o] += g;
          for (int64_t k = 0; k < s.in; ++k) {
            ref_dx[i * s.in + k] += g * w[o * s.in + k];
            ref_dw[o * s.in + k] += g * x[i * s.in + k];
          }
        }
      if (accumulate) {
        for (size_t i = 0; i < ref_dw.size(); ++i) ref_dw[i] += start_dw[i];
        for (size_t i = 0; i < ref_db.size(); ++i) ref_db[i] += start_db[i];
      }
      EXPECT_LT(max_relative_error(gy.host(), reference_linear(s, x, w, b.data())), kReductionTolerance) << what;
      EXPECT_LT(max_relative_error(gy_nobias.host(), reference_linear(s, x, w, nullptr)), kReductionTolerance) << what;
      EXPECT_LT(max_relative_error(gdx.host(), ref_dx), kReductionTolerance) << what;
      EXPECT_LT(max_relative_error(gdw.host(), ref_dw), kReductionTolerance) << what;
      EXPECT_LT(max_relative_error(gdb.host(), ref_db), kReductionTolerance) << what;
      EXPECT_TRUE(test::bit_identical(gdw.host(), again.host())) << what;
    }
}

TEST(GemmCuda, RowMajorWithEveryTransposeAndPaddedLeadingDimensionsMatchesFloat64) {
  FRUGAL_REQUIRE_GPU(cuda);
  const int64_t m = 37, n = 23, k = 51, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 0.5f}) {
        const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
        const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
        const std::vector<float> a = random_floats(a_rows * lda, 96, 0), b = random_floats(b_rows * ldb, 96, 1);
        std::vector<float> c = random_floats(m * ldc, 96, 2);
        if (beta == 0.0f)
          for (float& v : c) v = std::nanf("");  // beta 0 ignores C's old contents
        const float alpha = 1.25f;
        std::vector<double> want(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double sum = 0.0;
            for (int64_t p = 0; p < k; ++p)
              sum += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            want[i * n + j] = alpha * sum + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c[i * ldc + j]));
          }
        const OnGpu<float> ga(a), gb(b);
        OnGpu<float> gc(c);
        cuda->gemm(ta, tb, m, n, k, alpha, ga.get(), lda, gb.get(), ldb, beta, gc.get(), ldc);
        const std::vector<float> all = gc.host();
        std::vector<float> got(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) got[i * n + j] = all[i * ldc + j];
        EXPECT_LT(max_relative_error(got, want), kReductionTolerance)
            << "ta=" << ta << " tb=" << tb << " beta=" << beta;
        for (int64_t i = 0; i < m; ++i)  // the padding columns of C are never written
          for (int64_t j = n; j < ldc; ++j)
            ASSERT_TRUE(std::isnan(all[i * ldc + j]) ? std::isnan(c[i * ldc + j]) : all[i * ldc + j] == c[i * ldc + j]);
      }
}

}  // namespace
}  // namespace frugal
