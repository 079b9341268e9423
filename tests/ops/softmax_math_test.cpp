// The shared host/device softmax cross-entropy arithmetic (ops/softmax_math.h) that the CUDA kernels
// run, put together as a CUDA warp puts it (32 lanes over a row's interleaved classes, butterfly
// merges) and held against the CPU kernels: probabilities and gradients elementwise, the mean loss
// against float64, the row maximum against std::max_element on ties, infinities and NaN.
#include "ops/softmax_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/cpu/loss_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

namespace sm = softmax_math;
using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;
constexpr double kReductionTolerance = 1e-4;
constexpr int kLanes = 32, kRowWarps = 4;  // as ops/cuda/loss_cuda.cu

// A warp's row maximum: lane l takes classes l, l + 32, ...; then butterfly merges.
sm::ArgMax warp_argmax(const float* z, int64_t k) {
  sm::ArgMax lane[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    lane[l] = sm::argmax_empty();
    for (int64_t j = l; j < k; j += kLanes) lane[l] = sm::argmax_take(lane[l], z[j], j);
  }
  for (int width = kLanes / 2; width > 0; width /= 2) {
    sm::ArgMax next[kLanes];
    for (int l = 0; l < kLanes; ++l) next[l] = sm::argmax_merge(lane[l], lane[l ^ width]);
    std::copy(next, next + kLanes, lane);
  }
  for (int l = 1; l < kLanes; ++l) EXPECT_EQ(lane[l].index, lane[0].index) << "lanes disagree";
  return sm::argmax_finish(lane[0], z[0]);
}

// The butterfly sum of per-lane doubles, as lane 0 ends with it.
double warp_sum(double lane[kLanes]) {
  for (int width = kLanes / 2; width > 0; width /= 2) {
    double next[kLanes];
    for (int l = 0; l < kLanes; ++l) next[l] = lane[l] + lane[l ^ width];
    std::copy(next, next + kLanes, lane);
  }
  return lane[0];
}

// One row as the CUDA kernel computes it: probs written, the loss returned.
double shared_row(int64_t k, const float* z, int32_t label, double eps, float* p) {
  const float z_max = warp_argmax(z, k).value;
  double exp_sum[kLanes] = {}, z_sum[kLanes] = {};
  for (int l = 0; l < kLanes; ++l)
    for (int64_t j = l; j < k; j += kLanes) {
      p[j] = sm::shifted_exp(z[j], z_max);
      exp_sum[l] += p[j];
      z_sum[l] += z[j];
    }
  const double es = warp_sum(exp_sum), zs = warp_sum(z_sum);
  const float inv = sm::inverse_sum(es);
  for (int64_t j = 0; j < k; ++j) p[j] *= inv;
  return sm::row_loss(z_max, es, z[label], zs, eps, k);
}

// The mean in the CUDA kernel's order: per chunk, per warp (rows w, w + 4, ...), warps, then chunks.
float shared_forward(int64_t n, int64_t k, const std::vector<float>& z, const std::vector<int32_t>& labels, float eps,
                     std::vector<float>& probs) {
  double total = 0.0;
  for (int64_t chunk = 0; chunk < sm::kLossChunks; ++chunk) {
    double warps[kRowWarps] = {};
    const int64_t begin = sm::chunk_begin(n, chunk), end = sm::chunk_begin(n, chunk + 1);
    for (int w = 0; w < kRowWarps; ++w)
      for (int64_t r = begin + w; r < end; r += kRowWarps)
        warps[w] += shared_row(k, z.data() + r * k, labels[r], eps, probs.data() + r * k);
    double chunk_sum = 0.0;
    for (double s : warps) chunk_sum += s;
    total += chunk_sum;
  }
  return static_cast<float>(total / static_cast<double>(n));
}

double reference_loss(int64_t n, int64_t k, const std::vector<float>& z, const std::vector<int32_t>& labels,
                      double eps) {
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    const float* row = z.data() + r * k;
    const double m = *std::max_element(row, row + k);
    double s = 0.0;
    for (int64_t j = 0; j < k; ++j) s += std::exp(row[j] - m);
    const double lse = m + std::log(s);
    for (int64_t j = 0; j < k; ++j) total -= ((j == labels[r] ? 1.0 - eps : 0.0) + eps / k) * (row[j] - lse);
  }
  return total / static_cast<double>(n);
}

struct Case {
  int64_t n, k;
};
const Case kCases[] = {{1, 1}, {3, 10}, {7, 33}, {5, 100}, {130, 1000}, {300, 3}};

std::vector<int32_t> labels_for(int64_t n, int64_t k) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>((i * 7 + 3) % k);
  return labels;
}

TEST(SoftmaxMath, ProbabilitiesAndLossMatchTheCpuKernel) {
  for (const Case& c : kCases)
    for (float eps : {0.0f, 0.1f}) {
      const std::vector<float> z = test::random_floats(c.n * c.k, 41, c.k, -8.0f, 8.0f);
      const std::vector<int32_t> labels = labels_for(c.n, c.k);
      std::vector<float> cpu(z.size()), shared(z.size());
      const float cpu_loss = softmax_cross_entropy_forward_cpu(c.n, c.k, z.data(), labels.data(), eps, cpu.data());
      const float shared_loss = shared_forward(c.n, c.k, z, labels, eps, shared);
      const std::string what = std::to_string(c.n) + "x" + std::to_string(c.k) + " eps=" + std::to_string(eps);
      EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << what;
      EXPECT_LT(max_relative_error({shared_loss}, {static_cast<double>(cpu_loss)}), kElementwiseTolerance) << what;
      EXPECT_LT(max_relative_error({shared_loss}, {reference_loss(c.n, c.k, z, labels, eps)}), kReductionTolerance)
          << what;
    }
}

TEST(SoftmaxMath, GradientMatchesTheCpuKernel) {
  for (const Case& c : kCases)
    for (float eps : {0.0f, 0.2f}) {
      const std::vector<float> probs = test::random_floats(c.n * c.k, 42, c.k, 0.0f, 1.0f);
      const std::vector<int32_t> labels = labels_for(c.n, c.k);
      const float grad_scale = 0.75f;
      std::vector<float> cpu(probs.size()), shared(probs.size());
      softmax_cross_entropy_backward_cpu(c.n, c.k, probs.data(), labels.data(), eps, grad_scale, cpu.data());
      const sm::GradScalars s = sm::grad_scalars(c.n, c.k, eps, grad_scale);
      for (int64_t i = 0; i < c.n * c.k; ++i) shared[i] = sm::grad(s, probs[i], i % c.k == labels[i / c.k]);
      EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << c.n << "x" << c.k;
    }
}

// Rows where the order of comparisons matters: ties, signed zeros, infinities and NaN anywhere.
std::vector<std::vector<float>> tricky_rows() {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> rows = {
      {1.0f, 3.0f, 3.0f, 2.0f},
      {3.0f, 1.0f, 3.0f},
      {nan, 5.0f, 7.0f},
      {2.0f, nan, 7.0f, nan},
      {-inf, -inf, -inf},
      {0.0f, -0.0f},
      {-0.0f, 0.0f},
      {1.0f, inf, 2.0f, inf},
      {nan, nan},
      {-1.0f, nan, -1.0f, -2.0f},
      {5.0f},
  };
  // Long rows: the maximum tied in two lanes' slices and in one lane's slice, with NaN scattered.
  std::vector<float> wide = test::random_floats(100, 43);
  wide[70] = wide[38] = wide[6] = 4.0f;
  wide[13] = nan;
  rows.push_back(wide);
  wide[0] = nan;
  rows.push_back(wide);
  return rows;
}

TEST(SoftmaxMath, RowMaximumIsStdMaxElementWithTiesInfinitiesAndNan) {
  for (const std::vector<float>& row : tricky_rows()) {
    const int64_t k = static_cast<int64_t>(row.size());
    const sm::ArgMax a = warp_argmax(row.data(), k);
    const int64_t expected = std::max_element(row.begin(), row.end()) - row.begin();
    EXPECT_EQ(a.index, expected) << "row of " << k;
    const int32_t label = static_cast<int32_t>(expected);
    EXPECT_EQ(count_correct_cpu(1, k, row.data(), &label), 1);
  }
}

}  // namespace
}  // namespace frugal
