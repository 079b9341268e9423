// The CUDA pooling and softmax cross-entropy kernels against the CPU kernels on random inputs: pooling
// with odd sizes, stride 2, padding, overlapping windows, ties and NaN (the same argmax bytes); the loss
// against float64 and the CPU, label smoothing, counts, the bad-label error, and the same bits twice.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/cuda/dense_test_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;
using testing::cpu_kernels;
using testing::kElementwiseTolerance;
using testing::kReductionTolerance;
using testing::OnGpu;

Pool2dGeometry geometry(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w, int64_t kernel, int64_t stride,
                        int64_t pad = 0, bool count_include_pad = true) {
  Pool2dGeometry g{batch, channels, in_h, in_w, kernel, kernel, stride, stride};
  g.pad_h = g.pad_w = pad;
  g.count_include_pad = count_include_pad;
  return g;
}

std::vector<Pool2dGeometry> geometries() {
  return {geometry(2, 3, 7, 5, 3, 2, 1),        geometry(4, 8, 32, 32, 2, 2),  geometry(2, 3, 7, 9, 2, 2),
          geometry(3, 2, 7, 7, 3, 2, 1, false), geometry(2, 2, 9, 8, 3, 1, 1), geometry(1, 2, 5, 5, 5, 1, 2)};
}

std::string describe(const Pool2dGeometry& g) {
  return std::to_string(g.batch) + "x" + std::to_string(g.channels) + "x" + std::to_string(g.in_h) + "x" +
         std::to_string(g.in_w) + " k" + std::to_string(g.kernel_h) + " s" + std::to_string(g.stride_h) + " p" +
         std::to_string(g.pad_h) + (g.count_include_pad ? "" : " exclusive");
}

TEST(PoolCuda, MaxPoolMatchesTheCpuWithTiesAndNan) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const Pool2dGeometry& g : geometries()) {
    const int64_t in = g.batch * g.channels * g.in_h * g.in_w, out = g.batch * g.channels * g.out_h() * g.out_w();
    std::vector<float> x = random_floats(in, 81, in, -3.0f, 3.0f);
    for (float& v : x) v = std::round(v);  // ties in most windows
    for (int64_t i = 5; i < in; i += 23) x[i] = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> dy = random_floats(out, 82, in);
    std::vector<float> y(out), dx(in);
    std::vector<uint8_t> arg(out);
    cpu_kernels().maxpool2d_forward(g, x.data(), y.data(), arg.data());
    cpu_kernels().maxpool2d_backward(g, dy.data(), arg.data(), dx.data());
    const OnGpu<float> gx(x), gdy(dy);
    OnGpu<float> gy(testing::nan_filled(out)), gdx(testing::nan_filled(in)), gy_infer(testing::nan_filled(out));
    OnGpu<uint8_t> garg(std::vector<uint8_t>(out, 255));
    cuda->maxpool2d_forward(g, gx.get(), gy.get(), garg.get());
    cuda->maxpool2d_forward(g, gx.get(), gy_infer.get(), nullptr);  // inference: no argmax
    cuda->maxpool2d_backward(g, gdy.get(), garg.get(), gdx.get());
    EXPECT_EQ(garg.host(), arg) << describe(g);
    const std::vector<float> got = gy.host(), got_infer = gy_infer.host();
    for (int64_t i = 0; i < out; ++i) {
      ASSERT_TRUE(got[i] == y[i] || (std::isnan(got[i]) && std::isnan(y[i]))) << describe(g) << " output " << i;
      ASSERT_TRUE(got_infer[i] == y[i] || (std::isnan(got_infer[i]) && std::isnan(y[i]))) << describe(g) << " " << i;
    }
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx)), kElementwiseTolerance) << describe(g);
  }
}

TEST(PoolCuda, AveragePoolMatchesTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const Pool2dGeometry& g : geometries()) {
    const int64_t in = g.batch * g.channels * g.in_h * g.in_w, out = g.batch * g.channels * g.out_h() * g.out_w();
    const std::vector<float> x = random_floats(in, 83, in), dy = random_floats(out, 84, in);
    std::vector<float> y(out), dx(in);
    cpu_kernels().avgpool2d_forward(g, x.data(), y.data());
    cpu_kernels().avgpool2d_backward(g, dy.data(), dx.data());
    const OnGpu<float> gx(x), gdy(dy);
    OnGpu<float> gy(testing::nan_filled(out)), gdx(testing::nan_filled(in));
    cuda->avgpool2d_forward(g, gx.get(), gy.get());
    cuda->avgpool2d_backward(g, gdy.get(), gdx.get());
    EXPECT_LT(max_relative_error(gy.host(), to_double(y)), kElementwiseTolerance) << describe(g);
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx)), kElementwiseTolerance) << describe(g);
  }
}

TEST(PoolCuda, GlobalAveragePoolHasTheCpuBitsAndMatchesFloat64) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (int64_t s : {1, 16, 49, 64, 1031}) {
    const int64_t n = 5, c = 37;
    const std::vector<float> x = random_floats(n * c * s, 85, s), dy = random_floats(n * c, 86, s);
    std::vector<float> y(n * c), dx(n * c * s);
    std::vector<double> reference(n * c, 0.0);
    for (int64_t i = 0; i < n * c * s; ++i) reference[i / s] += x[i] / static_cast<double>(s);
    cpu_kernels().global_avgpool_forward(n, c, s, x.data(), y.data());
    cpu_kernels().global_avgpool_backward(n, c, s, dy.data(), dx.data());
    const OnGpu<float> gx(x), gdy(dy);
    OnGpu<float> gy(testing::nan_filled(n * c)), gdx(testing::nan_filled(n * c * s));
    cuda->global_avgpool_forward(n, c, s, gx.get(), gy.get());
    cuda->global_avgpool_backward(n, c, s, gdy.get(), gdx.get());
    EXPECT_TRUE(test::bit_identical(gy.host(), y)) << "S=" << s;
    EXPECT_LT(max_relative_error(gy.host(), reference), kReductionTolerance) << "S=" << s;
    EXPECT_LT(max_relative_error(gdx.host(), to_double(dx)), kElementwiseTolerance) << "S=" << s;
  }
}

double reference_loss(int64_t n, int64_t k, const std::vector<float>& z, const std::vector<int32_t>& labels,
                      double eps) {
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    double m = z[r * k], s = 0.0;
    for (int64_t j = 0; j < k; ++j) m = std::max(m, static_cast<double>(z[r * k + j]));
    for (int64_t j = 0; j < k; ++j) s += std::exp(z[r * k + j] - m);
    const double lse = m + std::log(s);
    for (int64_t j = 0; j < k; ++j)
      total -= ((j == labels[r] ? 1.0 - eps : 0.0) + eps / static_cast<double>(k)) * (z[r * k + j] - lse);
  }
  return total / static_cast<double>(n);
}

struct LossCase {
  int64_t n, k;
};

TEST(SoftmaxXentCuda, LossProbabilitiesGradientsAndCountsMatchTheCpu) {
  FRUGAL_REQUIRE_GPU(cuda);
  for (const LossCase& c : {LossCase{1, 1}, LossCase{3, 10}, LossCase{128, 10}, LossCase{256, 1000}, LossCase{1000, 3}})
    for (float eps : {0.0f, 0.1f}) {
      const std::string what = std::to_string(c.n) + "x" + std::to_string(c.k) + " eps=" + std::to_string(eps);
      const std::vector<float> z = random_floats(c.n * c.k, 87, c.k, -6.0f, 6.0f);
      std::vector<int32_t> labels(c.n);
      for (int64_t i = 0; i < c.n; ++i) labels[i] = static_cast<int32_t>((i * 5 + 1) % c.k);
      std::vector<float> probs(z.size()), dlogits(z.size());
      const float loss = cpu_kernels().softmax_xent_forward(c.n, c.k, z.data(), labels.data(), eps, probs.data());
      cpu_kernels().softmax_xent_backward(c.n, c.k, probs.data(), labels.data(), eps, 0.5f, dlogits.data());
      const OnGpu<float> gz(z);
      const OnGpu<int32_t> glabels(labels);
      OnGpu<float> gprobs(testing::nan_filled(z.size()));
      const float gpu_loss = cuda->softmax_xent_forward(c.n, c.k, gz.get(), glabels.get(), eps, gprobs.get());
      EXPECT_LT(max_relative_error({gpu_loss}, {static_cast<double>(loss)}), kElementwiseTolerance) << what;
      EXPECT_LT(max_relative_error({gpu_loss}, {reference_loss(c.n, c.k, z, labels, eps)}), kReductionTolerance)
          << what;
      EXPECT_LT(max_relative_error(gprobs.host(), to_double(probs)), kElementwiseTolerance) << what;
      EXPECT_EQ(cuda->softmax_xent_forward(c.n, c.k, gz.get(), glabels.get(), eps, gprobs.get()), gpu_loss) << what;
      cuda->softmax_xent_backward(c.n, c.k, gprobs.get(), glabels.get(), eps, 0.5f, gprobs.get());  // in place
      EXPECT_LT(max_relative_error(gprobs.host(), to_double(dlogits)), kElementwiseTolerance) << what;
      EXPECT_EQ(cuda->count_correct(c.n, c.k, gz.get(), glabels.get()),
                cpu_kernels().count_correct(c.n, c.k, z.data(), labels.data()))
          << what;
    }
}

TEST(SoftmaxXentCuda, CountCorrectKeepsTheFirstMaximumAndNanRules) {
  FRUGAL_REQUIRE_GPU(cuda);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const int64_t k = 40;
  std::vector<float> z(6 * k, 0.0f);
  z[0 * k + 3] = z[0 * k + 35] = 2.0f;  // tie within one lane's classes: class 3
  z[1 * k + 0] = nan;                   // NaN first: class 0
  z[1 * k + 7] = 9.0f;
  z[2 * k + 1] = nan;  // NaN later is skipped: class 8
  z[2 * k + 8] = 4.0f;
  z[3 * k + 39] = inf;                                  // infinity last
  for (int64_t j = 0; j < k; ++j) z[4 * k + j] = -inf;  // all -inf: class 0
  z[5 * k + 6] = z[5 * k + 1] = 1.0f;                   // tie across lanes: class 1
  const std::vector<int32_t> labels = {3, 0, 8, 39, 0, 1};
  EXPECT_EQ(cpu_kernels().count_correct(6, k, z.data(), labels.data()), 6);
  const OnGpu<float> gz(z);
  const OnGpu<int32_t> glabels(labels);
  EXPECT_EQ(cuda->count_correct(6, k, gz.get(), glabels.get()), 6);
}

TEST(SoftmaxXentCuda, ALabelOutsideTheClassesIsADataErrorNamingTheSample) {
  FRUGAL_REQUIRE_GPU(cuda);
  const std::vector<float> z = random_floats(4 * 5, 88);
  const OnGpu<float> gz(z);
  const OnGpu<int32_t> glabels(std::vector<int32_t>{0, 4, 5, -1});
  OnGpu<float> gprobs(testing::nan_filled(z.size()));
  try {
    cuda->softmax_xent_forward(4, 5, gz.get(), glabels.get(), 0.0f, gprobs.get());
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sample 2 has label 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cuda->softmax_xent_forward(4, 5, gz.get(), glabels.get(), 1.5f, gprobs.get()), ConfigError);
}

}  // namespace
}  // namespace frugal
