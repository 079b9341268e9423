// Randomized trace estimation of conv/linear weight gradients: probes, the kernels against a float64
// evaluation of the estimator's formula with the same probes, and the statistics that make it useful:
// unbiased (the mean of independent draws converges to the exact dW at the 1/sqrt(draws) rate) and a
// variance that falls like 1/r.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/linear_cpu.h"
#include "ops/cpu/randomized_trace_cpu.h"
#include "tests/ops/conv_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::random_floats;

Conv2dGeometry conv_geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t stride,
                             int64_t pad) {
  Conv2dGeometry g{};
  g.batch = n;
  g.in_channels = c;
  g.in_h = h;
  g.in_w = w;
  g.out_channels = o;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  return g;
}

TraceProbes probes_of(ProbeMode mode, int64_t r, uint64_t step,
                      ProbeDistribution dist = ProbeDistribution::Rademacher) {
  TraceProbes p;
  p.mode = mode;
  p.distribution = dist;
  p.count = r;
  p.key = rng_key(7, RngStream::Probes, step);
  return p;
}

const char* mode_name(ProbeMode m) {
  return m == ProbeMode::Independent ? "independent" : m == ProbeMode::Gaussian ? "gaussian" : "orthogonal";
}

// ---- probes ----

TEST(Probes, AnyBlockingRegeneratesTheSameEntries) {
  for (auto dist : {ProbeDistribution::Rademacher, ProbeDistribution::Gaussian}) {
    const ProbeSet s = orthogonal_probes(rng_key(3, RngStream::Probes, 5), dist, 12, 5, 7);
    std::vector<float> whole(12 * 35), blocks(12 * 35);
    fill_probes(s, 0, 12, 0, 35, whole.data(), 35);
    for (int64_t p0 = 0; p0 < 12; p0 += 5)
      for (int64_t i0 = 0; i0 < 35; i0 += 9)
        fill_probes(s, p0, std::min<int64_t>(12, p0 + 5), i0, std::min<int64_t>(35, i0 + 9),
                    blocks.data() + p0 * 35 + i0, 35);
    EXPECT_TRUE(test::bit_identical(whole, blocks));
  }
}

TEST(Probes, DenseProbesHaveUnitSecondMomentAndZeroMean) {
  for (auto dist : {ProbeDistribution::Rademacher, ProbeDistribution::Gaussian}) {
    const int64_t r = 64, dim = 4096;
    std::vector<float> z(r * dim);
    fill_probes(dense_probes(rng_key(1, RngStream::Probes, 0), dist, r, dim), 0, r, 0, dim, z.data(), dim);
    double sum = 0, sum2 = 0, cross = 0;
    for (int64_t i = 0; i < r * dim; ++i) sum += z[i], sum2 += double(z[i]) * z[i];
    for (int64_t p = 0; p < r; ++p)
      for (int64_t i = 0; i + 1 < dim; i += 2) cross += double(z[p * dim + i]) * z[p * dim + i + 1];
    const double n = double(r * dim);
    EXPECT_NEAR(sum / n, 0.0, 0.01);             // 4.4 standard errors
    EXPECT_NEAR(sum2 / n, 1.0, 0.02);            // exactly 1 for Rademacher
    EXPECT_NEAR(cross / (n / 2), 0.0, 0.015);    // E[z_i z_j] = 0
  }
}

TEST(Probes, OrthogonalChannelsUseOnlyTheirSubsetScaledToUnitSecondMoment) {
  // 40 probes over 3 channels: 13 per channel >= 8, so disjoint subsets of 13.
  const ProbeSet s = orthogonal_probes(rng_key(2, RngStream::Probes, 0), ProbeDistribution::Rademacher, 40, 3, 6);
  ASSERT_EQ(s.subset_size, 13);
  std::vector<float> z(40 * 18);
  fill_probes(s, 0, 40, 0, 18, z.data(), 18);
  for (int64_t i = 0; i < 18; ++i) {
    double second_moment = 0;
    int used = 0;
    for (int64_t p = 0; p < 40; ++p) {
      const float v = z[p * 18 + i];
      if (!s.uses(p, i / 6)) {
        EXPECT_EQ(v, 0.0f);
      }
      used += v != 0.0f;
      second_moment += double(v) * v;
    }
    EXPECT_EQ(used, 13);
    EXPECT_NEAR(second_moment / 40, 1.0, 1e-6);  // (1/r) sum_p z_p[i]^2 = |S_c| (r/|S_c|) / r
  }
  // Few probes per channel: subsets of 8 that overlap but never repeat a probe within a channel.
  const ProbeSet small = orthogonal_probes(rng_key(2, RngStream::Probes, 0), ProbeDistribution::Rademacher, 12, 4, 1);
  ASSERT_EQ(small.subset_size, 8);
  for (int64_t c = 0; c < 4; ++c) {
    int members = 0;
    for (int64_t p = 0; p < 12; ++p) members += small.uses(p, c);
    EXPECT_EQ(members, 8);
  }
}

// ---- the kernels compute the estimator's formula ----

// Float64 evaluation of dW-hat straight from the definitions, with the probes the kernel uses.
std::vector<double> naive_conv_estimate(const Conv2dGeometry& g, const TraceProbes& tp, const std::vector<float>& x,
                                        const std::vector<float>& dy) {
  const ProbeSet s = conv_probe_set(g, tp);
  const int64_t r = tp.count, plane = g.in_h * g.in_w, C = g.in_channels;
  std::vector<float> z(r * s.dim);
  fill_probes(s, 0, r, 0, s.dim, z.data(), s.dim);
  const bool independent = tp.mode == ProbeMode::Independent;
  // V[b, c, p] (independent) or V[b, p].
  std::vector<double> v(g.batch * (independent ? C : 1) * r, 0.0);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t m = 0; m < plane; ++m)
        for (int64_t p = 0; p < r; ++p) {
          const double xv = x[(b * C + c) * plane + m];
          if (independent)
            v[(b * C + c) * r + p] += xv * z[p * s.dim + m];
          else
            v[b * r + p] += xv * z[p * s.dim + c * plane + m];
        }
  std::vector<double> est(test::conv_weight_size(g), 0.0);
  test::for_each_conv_tap(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    const int64_t b = xi / (C * plane), c = (xi / plane) % C, m = xi % plane;
    for (int64_t p = 0; p < r; ++p) {
      const double vp = independent ? v[(b * C + c) * r + p] : v[b * r + p];
      const double zp = z[p * s.dim + (independent ? m : c * plane + m)];
      est[wi] += vp * dy[yi] * zp / double(r);
    }
  });
  return est;
}

TEST(ConvTraceKernels, MatchTheEstimatorFormulaForEveryProbeMode) {
  // Stride 2, padding 1, non-square input, 3 channels; 20 probes so orthogonal subsets overlap.
  const Conv2dGeometry g = conv_geometry(3, 3, 7, 5, 4, 3, 2, 1);
  const auto x = random_floats(test::conv_input_size(g), 1);
  const auto dy = random_floats(test::conv_output_size(g), 2);
  for (ProbeMode mode : {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal})
    for (auto dist : {ProbeDistribution::Rademacher, ProbeDistribution::Gaussian}) {
      const TraceProbes tp = probes_of(mode, 20, 4, dist);
      std::vector<float> sketch(conv_trace_sketch_shape(g, tp).numel()), dw(test::conv_weight_size(g));
      std::vector<float> scratch(trace_sketch_scratch_floats(tp)), work(conv_trace_workspace_floats(g, tp));
      conv_trace_sketch_cpu(g, tp, x.data(), sketch.data(), scratch.data());
      conv_trace_weight_grad_cpu(g, tp, sketch.data(), dy.data(), dw.data(), work.data());
      EXPECT_LT(test::max_relative_error(dw, naive_conv_estimate(g, tp, x, dy)), 1e-5) << mode_name(mode);
    }
}

TEST(ConvTraceKernels, SketchShapesGiveThePredictedStashRatios) {
  const Conv2dGeometry g = conv_geometry(128, 32, 14, 14, 64, 3, 1, 1);
  const int64_t input = test::conv_input_size(g);
  EXPECT_EQ(conv_trace_sketch_shape(g, probes_of(ProbeMode::Independent, 32, 0)), Shape({128, 32, 32}));
  EXPECT_DOUBLE_EQ(double(conv_trace_sketch_shape(g, probes_of(ProbeMode::Independent, 32, 0)).numel()) / input,
                   32.0 / (14 * 14));
  EXPECT_DOUBLE_EQ(double(conv_trace_sketch_shape(g, probes_of(ProbeMode::Gaussian, 128, 0)).numel()) / input,
                   128.0 / (32 * 14 * 14));
  EXPECT_EQ(conv_trace_sketch_shape(g, probes_of(ProbeMode::Orthogonal, 128, 0)), Shape({128, 128}));
}

std::vector<double> naive_linear_estimate(int64_t n, int64_t in, int64_t out, const TraceProbes& tp,
                                          const std::vector<float>& x, const std::vector<float>& dy) {
  const ProbeSet s = linear_probe_set(n, in, tp);
  const int64_t r = tp.count;
  std::vector<float> z(r * s.dim);
  fill_probes(s, 0, r, 0, s.dim, z.data(), s.dim);
  std::vector<double> est(out * in, 0.0);
  for (int64_t p = 0; p < r; ++p)
    for (int64_t b = 0; b < n; ++b)
      for (int64_t b2 = 0; b2 < n; ++b2)
        for (int64_t o = 0; o < out; ++o)
          for (int64_t i = 0; i < in; ++i) {
            if (tp.mode == ProbeMode::Independent) {  // sum_p (S^T dy)[p,o] (S^T x)[p,i]
              est[o * in + i] += double(z[p * n + b]) * dy[b * out + o] * z[p * n + b2] * x[b2 * in + i] / r;
            } else if (b == b2) {  // sum_p sum_b dy[b,o] (x z^T)[b,p] z_p[i]
              double v = 0;
              for (int64_t j = 0; j < in; ++j) v += double(x[b * in + j]) * z[p * in + j];
              est[o * in + i] += dy[b * out + o] * v * z[p * in + i] / r;
            }
          }
  return est;
}

TEST(LinearTraceKernels, MatchTheEstimatorFormulaForEveryProbeMode) {
  const int64_t n = 6, in = 10, out = 3;
  const auto x = random_floats(n * in, 3);
  const auto dy = random_floats(n * out, 4);
  for (ProbeMode mode : {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal}) {
    const TraceProbes tp = probes_of(mode, 9, 2, ProbeDistribution::Gaussian);
    std::vector<float> sketch(linear_trace_sketch_shape(n, in, tp).numel()), dw(out * in);
    std::vector<float> scratch(trace_sketch_scratch_floats(tp)), work(linear_trace_workspace_floats(n, in, out, tp));
    linear_trace_sketch_cpu(n, in, tp, x.data(), sketch.data(), scratch.data());
    linear_trace_weight_grad_cpu(n, in, out, tp, sketch.data(), dy.data(), dw.data(), work.data());
    EXPECT_LT(test::max_relative_error(dw, naive_linear_estimate(n, in, out, tp, x, dy)), 1e-5) << mode_name(mode);
  }
}

// ---- statistics ----

struct Draws {
  std::vector<std::vector<float>> estimates;
  std::vector<double> exact;
};

// The exact dW and `count` estimates with independent probes (a new step per draw).
Draws conv_draws(const Conv2dGeometry& g, ProbeMode mode, int64_t r, int count) {
  const auto x = random_floats(test::conv_input_size(g), 11);
  const auto dy = random_floats(test::conv_output_size(g), 12);
  Draws d;
  d.exact = test::reference_conv_backward_weight(g, test::to_double(x), test::to_double(dy));
  for (int k = 0; k < count; ++k) {
    const TraceProbes tp = probes_of(mode, r, static_cast<uint64_t>(k));
    std::vector<float> sketch(conv_trace_sketch_shape(g, tp).numel()), dw(d.exact.size());
    std::vector<float> scratch(trace_sketch_scratch_floats(tp)), work(conv_trace_workspace_floats(g, tp));
    conv_trace_sketch_cpu(g, tp, x.data(), sketch.data(), scratch.data());
    conv_trace_weight_grad_cpu(g, tp, sketch.data(), dy.data(), dw.data(), work.data());
    d.estimates.push_back(dw);
  }
  return d;
}

Draws linear_draws(ProbeMode mode, int64_t r, int count) {
  const int64_t n = 16, in = 12, out = 5;
  const auto x = random_floats(n * in, 13);
  const auto dy = random_floats(n * out, 14);
  Draws d;
  d.exact.assign(out * in, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) d.exact[o * in + i] += double(dy[b * out + o]) * x[b * in + i];
  for (int k = 0; k < count; ++k) {
    const TraceProbes tp = probes_of(mode, r, static_cast<uint64_t>(k));
    std::vector<float> sketch(linear_trace_sketch_shape(n, in, tp).numel()), dw(out * in);
    std::vector<float> scratch(trace_sketch_scratch_floats(tp)), work(linear_trace_workspace_floats(n, in, out, tp));
    linear_trace_sketch_cpu(n, in, tp, x.data(), sketch.data(), scratch.data());
    linear_trace_weight_grad_cpu(n, in, out, tp, sketch.data(), dy.data(), dw.data(), work.data());
    d.estimates.push_back(dw);
  }
  return d;
}

// Sum over entries of the per-draw variance (all draws), i.e. E|estimate - E estimate|^2.
double total_variance(const Draws& d) {
  const size_t n = d.exact.size(), k = d.estimates.size();
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    double mean = 0, sq = 0;
    for (const auto& e : d.estimates) mean += e[i];
    mean /= double(k);
    for (const auto& e : d.estimates) sq += (e[i] - mean) * (e[i] - mean);
    total += sq / double(k - 1);
  }
  return total;
}

// |mean of the first `count` draws - exact|.
double error_of_mean(const Draws& d, size_t count) {
  double err2 = 0;
  for (size_t i = 0; i < d.exact.size(); ++i) {
    double mean = 0;
    for (size_t k = 0; k < count; ++k) mean += d.estimates[k][i];
    mean /= double(count);
    err2 += (mean - d.exact[i]) * (mean - d.exact[i]);
  }
  return std::sqrt(err2);
}

// Unbiased: the error of the mean of D draws is sqrt(total variance / D) up to chance; a bias would stay
// as D grows. Measured ratios error / sqrt(variance / D) lie in 0.81..1.23 for these cases, and the
// error falls 3.3x..5.5x from 50 to 800 draws (4x expected); the bounds leave room for chance.
void expect_unbiased(const Draws& d, const std::string& what) {
  const double var = total_variance(d), scale = std::sqrt(test::max_abs(d.exact) * test::max_abs(d.exact));
  ASSERT_GT(var, 1e-6 * scale * scale) << what << ": the estimate should be random";
  for (size_t count : {size_t{50}, d.estimates.size()}) {
    const double ratio = error_of_mean(d, count) / std::sqrt(var / double(count));
    EXPECT_LT(ratio, 2.5) << what << " with " << count << " draws";
    EXPECT_GT(ratio, 0.25) << what << " with " << count << " draws";
  }
  EXPECT_LT(error_of_mean(d, d.estimates.size()), 0.45 * error_of_mean(d, 50)) << what;
}

struct ConvCase {
  const char* name;
  Conv2dGeometry g;
};

TEST(RandomizedTraceStatistics, ConvEstimateIsUnbiasedForEveryProbeModeAndGeometry) {
  // 16 probes: orthogonal subsets overlap for 3 channels (8 each) and are disjoint for 2.
  const ConvCase cases[] = {
      {"3x3 stride 1 pad 1", conv_geometry(3, 3, 6, 6, 4, 3, 1, 1)},
      {"3x3 stride 2 pad 1", conv_geometry(3, 3, 6, 6, 4, 3, 2, 1)},
      {"non-square 7x5, 5x5 pad 2", conv_geometry(2, 2, 7, 5, 3, 5, 1, 2)},
      {"3x3 stride 2 no pad, non-square", conv_geometry(2, 3, 9, 6, 3, 3, 2, 0)},
  };
  for (const ConvCase& c : cases)
    for (ProbeMode mode : {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal})
      expect_unbiased(conv_draws(c.g, mode, 16, 800), std::string(c.name) + ", " + mode_name(mode));
}

TEST(RandomizedTraceStatistics, LinearEstimateIsUnbiasedForEveryProbeMode) {
  // 16 probes over 12 features: orthogonal subsets of 8 overlap.
  for (ProbeMode mode : {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal})
    expect_unbiased(linear_draws(mode, 16, 800), std::string("linear, ") + mode_name(mode));
}

TEST(RandomizedTraceStatistics, VarianceFallsLikeOneOverProbeCount) {
  // Var = (|M|_F^2 + tr M^2 - ...)/r: quadrupling r should cut it about 4x (measured 3.6..4.4).
  const Conv2dGeometry g = conv_geometry(2, 3, 6, 5, 4, 3, 1, 1);
  for (ProbeMode mode : {ProbeMode::Independent, ProbeMode::Gaussian}) {
    const double v2 = total_variance(conv_draws(g, mode, 2, 300));
    const double v8 = total_variance(conv_draws(g, mode, 8, 300));
    const double v32 = total_variance(conv_draws(g, mode, 32, 300));
    EXPECT_GT(v2 / v8, 2.8) << mode_name(mode);
    EXPECT_LT(v2 / v8, 5.5) << mode_name(mode);
    EXPECT_GT(v8 / v32, 2.8) << mode_name(mode);
    EXPECT_LT(v8 / v32, 5.5) << mode_name(mode);
  }
  const double l2 = total_variance(linear_draws(ProbeMode::Gaussian, 2, 300));
  const double l8 = total_variance(linear_draws(ProbeMode::Gaussian, 8, 300));
  EXPECT_GT(l2 / l8, 2.8);
}

TEST(RandomizedTraceStatistics, SameKeyGivesBitIdenticalEstimates) {
  const Conv2dGeometry g = conv_geometry(2, 3, 6, 5, 4, 3, 2, 1);
  const Draws a = conv_draws(g, ProbeMode::Independent, 8, 3), b = conv_draws(g, ProbeMode::Independent, 8, 3);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(test::bit_identical(a.estimates[k], b.estimates[k]));
  EXPECT_FALSE(test::bit_identical(a.estimates[0], a.estimates[1]));
}

}  // namespace
}  // namespace frugal
