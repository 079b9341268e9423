// The probe entries and probe columns that the CUDA randomized-trace kernels regenerate on the device
// (ops/probe_math.h), against the CPU's fill_probes and im2col_cpu: the same numbers, bit for bit, for
// every probe mode and distribution, and im2col of probe images with stride 2, padding, dilation and
// non-square shapes.
#include "ops/probe_math.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/im2col.h"
#include "ops/cpu/probes_cpu.h"

namespace frugal {
namespace {

const ProbeDistribution kDistributions[] = {ProbeDistribution::Rademacher, ProbeDistribution::Gaussian};
const ProbeMode kModes[] = {ProbeMode::Independent, ProbeMode::Gaussian, ProbeMode::Orthogonal};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

Conv2dGeometry conv(int64_t c, int64_t h, int64_t w, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  Conv2dGeometry g{};
  g.batch = 2;
  g.in_channels = c;
  g.in_h = h;
  g.in_w = w;
  g.out_channels = 3;
  g.kernel_h = k;
  g.kernel_w = k + 1 > 3 ? k : k + 1;  // non-square kernels where small
  g.stride_h = stride;
  g.stride_w = stride;
  g.pad_h = pad;
  g.pad_w = pad;
  g.dilation_h = dilation;
  g.dilation_w = dilation;
  return g;
}

// Stride 1 "same", stride 2 with padding, dilation, a 1x1 and a non-square input.
std::vector<Conv2dGeometry> geometries() {
  return {conv(3, 8, 8, 3, 1, 1, 1), conv(2, 9, 7, 3, 2, 1, 1), conv(4, 10, 11, 3, 1, 2, 2), conv(5, 6, 6, 1, 2, 0, 1),
          conv(3, 5, 13, 2, 2, 1, 1)};
}

TraceProbes trace_probes(ProbeMode mode, ProbeDistribution dist, int64_t r) {
  TraceProbes p;
  p.mode = mode;
  p.distribution = dist;
  p.count = r;
  p.key = rng_key(11, RngStream::Probes, 3);
  return p;
}

void expect_values_match(const ProbeSet& set, const char* what) {
  const probe::ProbeParams p = probe::params_of(set);
  std::vector<float> cpu(set.count * set.dim), got(set.count * set.dim);
  fill_probes(set, 0, set.count, 0, set.dim, cpu.data(), set.dim);
  for (int64_t q = 0; q < set.count; ++q)
    for (int64_t i = 0; i < set.dim; ++i) got[q * set.dim + i] = probe::value(p, q, i);
  EXPECT_TRUE(same_bits(got, cpu)) << what;
}

TEST(ProbeMath, ProbeValuesAreTheCpuProbesInEveryModeAndDistribution) {
  for (ProbeDistribution dist : kDistributions)
    for (ProbeMode mode : kModes)
      for (int64_t r : {3, 16, 40}) {  // orthogonal: overlapping and disjoint channel subsets
        for (const Conv2dGeometry& g : geometries())
          expect_values_match(conv_probe_set(g, trace_probes(mode, dist, r)), "conv");
        expect_values_match(linear_probe_set(13, 5, trace_probes(mode, dist, r)), "linear");
      }
}

TEST(ProbeMath, ChannelSubsetsAreTheProbeSetOnes) {
  const ProbeSet set = orthogonal_probes(rng_key(2, RngStream::Probes, 0), ProbeDistribution::Rademacher, 20, 7, 3);
  const probe::ProbeParams p = probe::params_of(set);
  for (int64_t q = 0; q < set.count; ++q)
    for (int64_t c = 0; c < 7; ++c) EXPECT_EQ(probe::uses(p, q, c), set.uses(q, c)) << q << ", " << c;
}

TEST(ProbeMath, TapPixelsAreTheIm2colPositions) {
  for (const Conv2dGeometry& g : geometries()) {
    const probe::ConvTaps taps = probe::taps_of(g);
    const int64_t plane = g.in_h * g.in_w, out_plane = g.out_h() * g.out_w(), t_count = g.kernel_h * g.kernel_w;
    std::vector<float> x(plane), col(t_count * out_plane);
    for (int64_t i = 0; i < plane; ++i) x[i] = static_cast<float>(i + 1);  // pixel i holds i + 1
    im2col_cpu(g, x.data(), 1, OutputRows{0, g.out_h()}, col.data());
    for (int64_t t = 0; t < t_count; ++t)
      for (int64_t n = 0; n < out_plane; ++n)
        EXPECT_EQ(static_cast<float>(probe::tap_pixel(taps, t, n) + 1), col[t * out_plane + n])
            << "tap " << t << " output pixel " << n << " stride " << g.stride_h;
  }
}

// Columns of probe images: for each probe, im2col_cpu of fill_probes' image, as the CPU estimator builds them.
TEST(ProbeMath, ProbeColumnsAreIm2colOfTheCpuProbeImages) {
  for (ProbeDistribution dist : kDistributions)
    for (ProbeMode mode : kModes)
      for (const Conv2dGeometry& g : geometries()) {
        const ProbeSet set = conv_probe_set(g, trace_probes(mode, dist, 10));
        const probe::ProbeParams p = probe::params_of(set);
        const probe::ConvTaps taps = probe::taps_of(g);
        const int64_t channels = mode == ProbeMode::Independent ? 1 : g.in_channels;
        const int64_t t_count = g.kernel_h * g.kernel_w, out_plane = g.out_h() * g.out_w();
        const int64_t rows = channels * t_count, p0 = 4, np = 3;  // probes 4..6 as one block
        std::vector<float> z(set.dim), cpu(np * rows * out_plane), got(cpu.size());
        for (int64_t q = 0; q < np; ++q) {
          fill_probes(set, p0 + q, p0 + q + 1, 0, set.dim, z.data(), set.dim);
          im2col_cpu(g, z.data(), channels, OutputRows{0, g.out_h()}, cpu.data() + q * rows * out_plane);
        }
        for (int64_t row = 0; row < np * rows; ++row)
          for (int64_t n = 0; n < out_plane; ++n)
            got[row * out_plane + n] = probe::probe_column(p, taps, p0, channels, t_count, row, n);
        EXPECT_TRUE(same_bits(got, cpu)) << "mode " << static_cast<int>(mode) << " stride " << g.stride_h;
      }
}

}  // namespace
}  // namespace frugal
