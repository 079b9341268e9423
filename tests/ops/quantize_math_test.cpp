// The arithmetic of the CUDA quantized-activation kernels (ops/quantize_math.h), run channel by channel
// and group by group as the CUDA threads run it, against the CPU kernels (ops/cpu/quantize_cpu.h): grids
// and BatchNorm-output statistics bit-identical, channel statistics within float rounding (another
// summation order), packed codes byte-identical and reconstructions and gradients bit-identical, for
// every width, shapes whose element count ends in a partial group, and values at bin edges, 0, -0,
// denormals, inf and NaN.
#include "ops/quantize_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/quantize_cpu.h"

namespace frugal {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Shape3 {
  int64_t n, c, s;
  int64_t total() const { return n * c * s; }
};
// [N, C, S]: NCHW with odd planes, [N, C] (S = 1), totals that are and are not multiples of 8.
const Shape3 kShapes[] = {{1, 1, 1}, {2, 3, 5}, {3, 7, 1}, {4, 5, 9}, {2, 3, 1031}, {5, 16, 64}};

std::vector<float> normals(size_t n, uint64_t step, float mean = 0.0f, float sd = 1.0f) {
  std::vector<float> v(n);
  rng_normal(rng_key(17, RngStream::Test, step), v.data(), n, mean, sd);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Per-channel means and stds that give two-sided, all-positive and all-negative windows, a constant
// channel, and non-finite statistics.
void channel_stats(int64_t c, uint64_t step, std::vector<float>& mean, std::vector<float>& sd) {
  mean = normals(static_cast<size_t>(c), step, 0.0f, 2.0f);
  sd = normals(static_cast<size_t>(c), step + 1, 1.0f, 0.5f);
  for (int64_t ch = 0; ch < c; ++ch) {
    sd[ch] = std::fabs(sd[ch]) + 0.01f;
    switch (ch % 6) {
      case 1: mean[ch] = 4.0f * sd[ch] + 0.3f; break;   // all positive
      case 2: mean[ch] = -4.0f * sd[ch] - 0.3f; break;  // all negative
      case 3: sd[ch] = 0.0f; break;                     // constant
      case 4: mean[ch] = 3.0f * sd[ch]; break;          // the window's edge on 0
      default: break;
    }
  }
  if (c > 5) mean[5] = kNaN, sd[5] = kInf;
}

std::vector<float> cpu_grid(const std::vector<float>& mean, const std::vector<float>& sd, int bits) {
  std::vector<float> grid(3 * mean.size());
  relu_grid_cpu(static_cast<int64_t>(mean.size()), mean.data(), sd.data(), bits, grid.data());
  return grid;
}

// Values of channel ch drawn around its window, with bin edges, 0, -0, denormals, inf and NaN mixed in.
std::vector<float> activations(const Shape3& sh, const std::vector<float>& mean, const std::vector<float>& sd,
                               const std::vector<float>& grid, uint64_t step) {
  std::vector<float> y = normals(static_cast<size_t>(sh.total()), step);
  for (int64_t e = 0; e < sh.total(); ++e) {
    const int64_t ch = (e / sh.s) % sh.c;
    const float m = std::isfinite(mean[ch]) ? mean[ch] : 0.0f, s = std::isfinite(sd[ch]) ? sd[ch] : 1.0f;
    y[e] = m + 4.0f * s * y[e];  // some clipped
    const float offset = grid[kGridOffset * sh.c + ch], bin = grid[kGridStep * sh.c + ch];
    switch (e % 11) {
      case 1: y[e] = offset + static_cast<float>(e % 5) * bin; break;  // a bin edge
      case 3: y[e] = (e % 2) ? 0.0f : -0.0f; break;
      case 5: y[e] = (e % 2) ? 1e-41f : -1e-41f; break;
      case 7: y[e] = (e % 3 == 0) ? kNaN : ((e % 3 == 1) ? kInf : -kInf); break;
      default: break;
    }
  }
  return y;
}

TEST(QuantizeMath, GridRowsAreTheCpuGridAtEveryWidth) {
  std::vector<float> mean, sd;
  channel_stats(64, 1, mean, sd);
  for (int bits = 2; bits <= 8; ++bits) {
    const std::vector<float> cpu = cpu_grid(mean, sd, bits);
    std::vector<float> grid(cpu.size());
    for (int64_t ch = 0; ch < 64; ++ch) {
      const quant::GridRow row = quant::relu_grid_row(mean[ch], sd[ch], bits);
      grid[kGridOffset * 64 + ch] = row.offset;
      grid[kGridStep * 64 + ch] = row.step;
      grid[kGridShift * 64 + ch] = row.shift;
    }
    EXPECT_TRUE(same_bits(grid, cpu)) << "bits " << bits;
  }
}

TEST(QuantizeMath, BatchnormOutputStatisticsAreTheCpuOnes) {
  const int64_t c = 37;
  std::vector<float> gamma = normals(c, 2), beta = normals(c, 3), invstd = normals(c, 4, 2.0f, 1.0f);
  for (float& v : invstd) v = std::fabs(v);
  invstd[0] = 1e4f;  // eps * invstd^2 > 1: clamped at 0
  gamma[1] = 0.0f;
  gamma[2] = -gamma[2];
  const float eps = 1e-5f;
  std::vector<float> mean_cpu(c), std_cpu(c), mean(c), std(c);
  batchnorm_output_mean_std_cpu(c, gamma.data(), beta.data(), invstd.data(), eps, mean_cpu.data(), std_cpu.data());
  for (int64_t ch = 0; ch < c; ++ch)
    quant::batchnorm_output_mean_std(gamma[ch], beta[ch], invstd[ch], eps, &mean[ch], &std[ch]);
  EXPECT_TRUE(same_bits(mean, mean_cpu));
  EXPECT_TRUE(same_bits(std, std_cpu));
}

// The CUDA kernel's order: lanes, then the pairwise tree, then the combine.
void lane_tree_mean_std(const Shape3& sh, const float* y, float* mean, float* std) {
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    const double shift = y[ch * sh.s];
    std::vector<quant::ShiftedSums> lanes(quant::kStatThreads);
    for (int lane = 0; lane < quant::kStatThreads; ++lane)
      lanes[lane] = quant::lane_sums(sh.n, sh.c, sh.s, ch, y, shift, lane);
    for (int width = quant::kStatThreads / 2; width > 0; width /= 2)
      for (int lane = 0; lane < width; ++lane) quant::tree_level(lanes.data(), width, lane);
    quant::mean_std_from_sums(shift, lanes[0].sum, lanes[0].sum_sq, static_cast<double>(sh.n * sh.s), mean + ch,
                              std + ch);
  }
}

TEST(QuantizeMath, ChannelStatisticsMatchTheCpuWithinFloatRounding) {
  // Planes narrower and wider than the lanes, and a channel far from 0 (the shift keeps its variance).
  const Shape3 shapes[] = {{3, 4, 5}, {2, 3, 1031}, {33, 5, 1}, {4, 2, 3000}};
  for (const Shape3& sh : shapes) {
    std::vector<float> y = normals(static_cast<size_t>(sh.total()), sh.total(), 0.5f, 2.0f);
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) y[(i * sh.c + 1) * sh.s + j] += 1000.0f;
    std::vector<float> mean_cpu(sh.c), std_cpu(sh.c), mean(sh.c), std(sh.c);
    channel_mean_std_cpu(sh.n, sh.c, sh.s, y.data(), mean_cpu.data(), std_cpu.data());
    lane_tree_mean_std(sh, y.data(), mean.data(), std.data());
    for (int64_t ch = 0; ch < sh.c; ++ch) {
      EXPECT_NEAR(mean[ch], mean_cpu[ch], 1e-6 * std::fabs(mean_cpu[ch])) << ch;
      EXPECT_NEAR(std[ch], std_cpu[ch], 1e-6 * std_cpu[ch]) << ch;
    }
  }
}

TEST(QuantizeMath, ChannelStatisticsOfAnEmptyBatchAreZero) {
  float mean = 1.0f, std = 1.0f;
  quant::mean_std_from_sums(0.0, 0.0, 0.0, 0.0, &mean, &std);
  EXPECT_EQ(mean, 0.0f);
  EXPECT_EQ(std, 0.0f);
}

struct Codes {
  std::vector<float> grid;
  std::vector<uint8_t> cpu, groups;
};

Codes quantize_both(const Shape3& sh, int bits, uint64_t step) {
  std::vector<float> mean, sd;
  channel_stats(sh.c, step, mean, sd);
  Codes k;
  k.grid = cpu_grid(mean, sd, bits);
  const std::vector<float> y = activations(sh, mean, sd, k.grid, step + 7);
  k.cpu.assign(packed_bytes(sh.total(), bits), 0);
  quantize_cpu(sh.n, sh.c, sh.s, y.data(), k.grid.data(), bits, k.cpu.data());
  k.groups.assign(packed_bytes(sh.total(), bits) + 1, 0xCD);
  for (int64_t g = 0; g < bitpack::group_count(sh.total()); ++g)
    quant::quantize_group(sh.n, sh.c, sh.s, g, y.data(), k.grid.data(), bits, k.groups.data());
  EXPECT_EQ(k.groups.back(), 0xCD) << "a group wrote past packed_bytes";
  k.groups.pop_back();
  return k;
}

TEST(QuantizeMath, GroupsQuantizeToTheCpuBytesAtEveryWidth) {
  for (int bits = 2; bits <= 8; ++bits)
    for (const Shape3& sh : kShapes) {
      const Codes k = quantize_both(sh, bits, bits * 1000 + sh.total());
      EXPECT_EQ(k.groups, k.cpu) << "bits " << bits << " shape " << sh.n << "x" << sh.c << "x" << sh.s;
    }
}

TEST(QuantizeMath, GroupsDecodeAsTheCpuKernelsAtEveryWidth) {
  for (int bits = 2; bits <= 8; ++bits)
    for (const Shape3& sh : kShapes) {
      const Codes k = quantize_both(sh, bits, bits * 1000 + sh.total());
      const int64_t total = sh.total(), groups = bitpack::group_count(total);
      const uint8_t* packed = k.cpu.data();
      const float* grid = k.grid.data();
      std::vector<float> gamma = normals(sh.c, 40), beta = normals(sh.c, 41);
      gamma[0] = 0.0f;  // x̂ is 0 there
      std::vector<float> dy = normals(total, 42);
      dy[0] = kNaN;
      if (total > 1) dy[1] = -0.0f;

      std::vector<float> cpu(total), got(total, 7.0f);
      dequantize_relu_cpu(sh.n, sh.c, sh.s, packed, grid, bits, cpu.data());
      for (int64_t g = 0; g < groups; ++g)
        quant::dequantize_relu_group(sh.n, sh.c, sh.s, g, packed, grid, bits, got.data());
      EXPECT_TRUE(same_bits(got, cpu)) << "dequantize_relu, bits " << bits << " total " << total;

      dequantize_normalized_cpu(sh.n, sh.c, sh.s, packed, grid, bits, gamma.data(), beta.data(), cpu.data());
      for (int64_t g = 0; g < groups; ++g)
        quant::dequantize_normalized_group(sh.n, sh.c, sh.s, g, packed, grid, bits, gamma.data(), beta.data(),
                                           got.data());
      EXPECT_TRUE(same_bits(got, cpu)) << "dequantize_normalized, bits " << bits << " total " << total;

      relu_backward_from_codes_cpu(sh.n, sh.c, sh.s, packed, grid, bits, dy.data(), cpu.data());
      for (int64_t g = 0; g < groups; ++g)
        quant::relu_backward_group(sh.n, sh.c, sh.s, g, packed, grid, bits, dy.data(), got.data());
      EXPECT_TRUE(same_bits(got, cpu)) << "relu_backward_from_codes, bits " << bits << " total " << total;
      for (int64_t g = 0; g < groups; ++g)  // in place
        quant::relu_backward_group(sh.n, sh.c, sh.s, g, packed, grid, bits, dy.data(), dy.data());
      EXPECT_TRUE(same_bits(dy, cpu)) << "relu_backward_from_codes in place, bits " << bits;
    }
}

TEST(QuantizeMath, TheCodeOfAValueKeepsItsReluSign) {
  const quant::GridRow row = quant::relu_grid_row(0.1f, 1.0f, 4);
  const float grid[3] = {row.offset, row.step, row.shift};
  const quant::ChannelGrid g = quant::channel_grid(grid, 1, 0, 4);
  const float values[] = {0.0f, -0.0f, 1e-41f, -1e-41f, 1e-8f, -1e-8f, 100.0f, -100.0f, kInf, -kInf};
  for (float v : values) EXPECT_EQ(quant::positive_code(quant::code_of(v, g), g.shift), v > 0.0f) << v;
}

}  // namespace
}  // namespace frugal
