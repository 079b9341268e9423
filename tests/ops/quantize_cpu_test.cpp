// K-bit ReLU-aligned quantization: the grid (threshold on a bin edge, both signs present), error within
// half a bin inside the window, an exact ReLU mask for every float (0, denormals, edges, clipped, inf),
// x̂ recovery for BatchNorm outputs, monotone codes, packing, and independence from the thread count.
#include "ops/cpu/quantize_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/cpu/bitpack.h"

namespace frugal {
namespace {

const int kBits[] = {2, 4, 8};

struct Grid {
  std::vector<float> g;  // [3, C]
  int64_t c;
  float offset(int64_t ch) const { return g[kGridOffset * c + ch]; }
  float step(int64_t ch) const { return g[kGridStep * c + ch]; }
  int shift(int64_t ch) const { return static_cast<int>(g[kGridShift * c + ch]); }
};

Grid grid_for(const std::vector<float>& mean, const std::vector<float>& sd, int bits) {
  Grid grid{std::vector<float>(3 * mean.size()), static_cast<int64_t>(mean.size())};
  relu_grid_cpu(grid.c, mean.data(), sd.data(), bits, grid.g.data());
  return grid;
}

// [N, C, S] values, channel ch drawn from N(means[ch], sds[ch]).
std::vector<float> channel_normals(int64_t n, int64_t s, const std::vector<float>& means,
                                   const std::vector<float>& sds, uint64_t seed) {
  const int64_t c = static_cast<int64_t>(means.size());
  std::vector<float> y(static_cast<size_t>(n * c * s));
  rng_normal(rng_key(seed, RngStream::Test, 0), y.data(), y.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t j = 0; j < s; ++j) {
        float& v = y[(i * c + ch) * s + j];
        v = means[ch] + sds[ch] * v;
      }
  return y;
}

std::vector<uint8_t> quantize(int64_t n, int64_t c, int64_t s, const std::vector<float>& y, const Grid& grid,
                              int bits) {
  std::vector<uint8_t> packed(packed_bytes(n * c * s, bits) + 1, 0xCD);  // one guard byte
  quantize_cpu(n, c, s, y.data(), grid.g.data(), bits, packed.data());
  EXPECT_EQ(packed.back(), 0xCD) << "quantize_cpu wrote past packed_bytes";
  packed.pop_back();
  return packed;
}

std::vector<uint8_t> unpacked(const std::vector<uint8_t>& packed, int64_t count, int bits) {
  std::vector<uint8_t> codes(static_cast<size_t>(count));
  unpack_codes(packed.data(), count, bits, codes.data());
  return codes;
}

// Channels whose window straddles 0 at different places, and two one-sided ones (all positive, all
// negative), so every branch of the grid choice is exercised.
const std::vector<float> kMeans = {0.0f, 0.7f, -1.3f, 12.0f, -20.0f};
const std::vector<float> kSds = {1.0f, 0.5f, 2.0f, 1.5f, 3.0f};

TEST(QuantizeCpu, GridPutsTheReluThresholdOnABinEdgeWithBothSignsPresent) {
  for (int bits : kBits) {
    const int levels = 1 << bits;
    Grid grid = grid_for(kMeans, kSds, bits);
    for (int64_t ch = 0; ch < grid.c; ++ch) {
      const float lo = kMeans[ch] - 3 * kSds[ch], hi = kMeans[ch] + 3 * kSds[ch];
      EXPECT_GE(grid.shift(ch), 1) << "bits " << bits << " channel " << ch;
      EXPECT_LE(grid.shift(ch), levels - 1) << "bits " << bits << " channel " << ch;
      if (lo < 0 && hi > 0) {
        EXPECT_NEAR(grid.offset(ch) + grid.shift(ch) * grid.step(ch), 0.0f, 1e-5f * grid.step(ch));
        EXPECT_NEAR(grid.step(ch), 6 * kSds[ch] / levels, 1e-6f * kSds[ch]);
        // The window moves by less than a bin to put the edge on 0.
        EXPECT_LE(grid.offset(ch), lo + 1e-5f);
        EXPECT_GT(grid.offset(ch), lo - grid.step(ch));
      } else {
        // One side: n - 1 bins cover the ±3σ window, the last code is reserved for the other sign.
        EXPECT_NEAR(grid.step(ch), 6 * kSds[ch] / (levels - 1), 1e-6f * kSds[ch]);
        EXPECT_EQ(grid.shift(ch), lo > 0 ? 1 : levels - 1);
      }
    }
  }
}

TEST(QuantizeCpu, ReconstructionErrorIsWithinHalfABinForValuesInsideTheWindow) {
  // S = 1001 is odd, so codes of one channel plane straddle bytes and chunks.
  const int64_t n = 3, c = static_cast<int64_t>(kMeans.size()), s = 1001;
  const std::vector<float> y = channel_normals(n, s, kMeans, kSds, 1);
  for (int bits : kBits) {
    const int levels = 1 << bits;
    Grid grid = grid_for(kMeans, kSds, bits);
    std::vector<float> back(y.size());
    dequantize_cpu(n, c, s, quantize(n, c, s, y, grid, bits).data(), grid.g.data(), bits, back.data());
    int64_t inside = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        // The bins that tile the window: all n, or all but the reserved one of a one-sided window.
        const int shift = grid.shift(ch);
        int first = 0, last = levels - 1;
        if (kMeans[ch] - 3 * kSds[ch] > 0) first = 1;
        if (kMeans[ch] + 3 * kSds[ch] < 0) last = levels - 2;
        const float lo = grid.offset(ch) + first * grid.step(ch), hi = grid.offset(ch) + (last + 1) * grid.step(ch);
        for (int64_t j = 0; j < s; ++j) {
          const size_t k = static_cast<size_t>((i * c + ch) * s + j);
          if (y[k] < lo || y[k] > hi) continue;
          ++inside;
          ASSERT_LE(std::abs(back[k] - y[k]), 0.5f * grid.step(ch) * (1 + 1e-4f) + 1e-6f)
              << "bits " << bits << " channel " << ch << " y " << y[k] << " shift " << shift;
        }
      }
    EXPECT_GT(inside, n * c * s * 95 / 100) << "the ±3σ window should hold nearly all values";
  }
}

TEST(QuantizeCpu, ReluMaskFromCodesIsExactForEveryValue) {
  const float inf = std::numeric_limits<float>::infinity();
  const float denorm = std::numeric_limits<float>::denorm_min();
  // Channel 0 straddles 0; channel 1 is all positive; channel 2 all negative.
  const std::vector<float> means = {0.3f, 40.0f, -40.0f}, sds = {1.0f, 1.0f, 1.0f};
  for (int bits : kBits) {
    Grid grid = grid_for(means, sds, bits);
    std::vector<float> specials = {0.0f, -0.0f, denorm, -denorm, 1e-30f, -1e-30f, 1e30f, -1e30f, inf, -inf};
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int k = -2; k <= (1 << bits) + 2; ++k) {  // every bin edge and its float neighbours
        const float edge = grid.offset(ch) + k * grid.step(ch);
        specials.push_back(edge);
        specials.push_back(std::nextafter(edge, inf));
        specials.push_back(std::nextafter(edge, -inf));
      }
    const int64_t s = static_cast<int64_t>(specials.size()), c = 3;
    std::vector<float> y, dy;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t j = 0; j < s; ++j) {
        y.push_back(specials[j]);
        dy.push_back(1.0f + static_cast<float>(j));
      }
    const std::vector<uint8_t> packed = quantize(1, c, s, y, grid, bits);
    std::vector<float> dx(y.size()), h(y.size()), back(y.size());
    relu_backward_from_codes_cpu(1, c, s, packed.data(), grid.g.data(), bits, dy.data(), dx.data());
    dequantize_relu_cpu(1, c, s, packed.data(), grid.g.data(), bits, h.data());
    dequantize_cpu(1, c, s, packed.data(), grid.g.data(), bits, back.data());
    for (size_t k = 0; k < y.size(); ++k) {
      EXPECT_EQ(dx[k], y[k] > 0.0f ? dy[k] : 0.0f) << "bits " << bits << " y " << y[k] << " at " << k;
      EXPECT_GE(h[k], 0.0f);
      if (y[k] <= 0.0f) {
        EXPECT_EQ(h[k], 0.0f) << "bits " << bits << " y " << y[k];
      }
      EXPECT_TRUE(y[k] > 0.0f ? back[k] >= 0.0f : back[k] <= 0.0f) << "bits " << bits << " y " << y[k];
    }
  }
}

TEST(QuantizeCpu, ReluMaskStaysExactWhenDyAliasesDx) {
  const int64_t c = 2, s = 9000;  // more than one chunk
  const std::vector<float> y = channel_normals(1, s, {0.2f, -0.4f}, {1.0f, 0.3f}, 5);
  Grid grid = grid_for({0.2f, -0.4f}, {1.0f, 0.3f}, 4);
  const std::vector<uint8_t> packed = quantize(1, c, s, y, grid, 4);
  std::vector<float> g(y.size(), 2.5f);
  relu_backward_from_codes_cpu(1, c, s, packed.data(), grid.g.data(), 4, g.data(), g.data());
  for (size_t k = 0; k < y.size(); ++k) ASSERT_EQ(g[k], y[k] > 0.0f ? 2.5f : 0.0f) << k;
}

TEST(QuantizeCpu, ValuesBeyondTheWindowTakeTheOutermostCodeOfTheirSign) {
  Grid grid = grid_for({0.0f}, {1.0f}, 4);
  const std::vector<float> y = {-50.0f, 50.0f, 3.2f, -3.2f};
  const std::vector<uint8_t> codes = unpacked(quantize(1, 1, 4, y, grid, 4), 4, 4);
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[1], 15);
  EXPECT_EQ(codes[2], 15);
  EXPECT_EQ(codes[3], 0);
}

TEST(QuantizeCpu, CodesAreMonotoneInTheValue) {
  for (int bits : kBits) {
    Grid grid = grid_for({0.4f}, {2.0f}, bits);
    std::vector<float> y;
    for (int k = 0; k <= 4000; ++k) y.push_back(-10.0f + 20.0f * k / 4000.0f);
    const std::vector<uint8_t> codes = unpacked(quantize(1, 1, 4001, y, grid, bits), 4001, bits);
    for (size_t k = 1; k < codes.size(); ++k) ASSERT_LE(codes[k - 1], codes[k]) << "bits " << bits << " at " << y[k];
    EXPECT_EQ(codes.front(), 0);
    EXPECT_EQ(codes.back(), (1 << bits) - 1);
  }
}

TEST(QuantizeCpu, CodesArePackedDenselyTwoPerByteAtFourBitsAndFourPerByteAtTwo) {
  Grid grid = grid_for({0.0f}, {1.0f}, 4);
  // Codes 0, 15 -> one byte: the first code in the low nibble (the bitpack layout).
  std::vector<uint8_t> p4 = quantize(1, 1, 2, {-9.0f, 9.0f}, grid, 4);
  ASSERT_EQ(p4.size(), 1u);
  EXPECT_EQ(p4[0], 0xF0);
  Grid grid2 = grid_for({0.0f}, {1.0f}, 2);
  std::vector<uint8_t> p2 = quantize(1, 1, 4, {9.0f, -9.0f, -9.0f, 9.0f}, grid2, 2);
  ASSERT_EQ(p2.size(), 1u);
  EXPECT_EQ(p2[0], 0xC3);  // codes 3, 0, 0, 3 from the low bits up
}

TEST(QuantizeCpu, NormalizedDequantizationRecoversBatchNormInputWithinHalfABin) {
  // y = gamma * x̂ + beta, grid from the BatchNorm's own mean (beta) and std (|gamma|); negative gamma too.
  const std::vector<float> gamma = {1.0f, 0.25f, -2.0f, 0.5f}, beta = {0.0f, 0.1f, 1.0f, 2.0f};
  const int64_t n = 4, c = 4, s = 777;
  std::vector<float> xhat = channel_normals(n, s, {0, 0, 0, 0}, {1, 1, 1, 1}, 9), y(xhat.size());
  for (int64_t i = 0; i < n * c * s; ++i) {
    const int64_t ch = (i / s) % c;
    y[i] = gamma[ch] * xhat[i] + beta[ch];
  }
  std::vector<float> sd;
  for (float g : gamma) sd.push_back(std::abs(g));
  for (int bits : kBits) {
    Grid grid = grid_for(beta, sd, bits);
    std::vector<float> back(y.size());
    dequantize_normalized_cpu(n, c, s, quantize(n, c, s, y, grid, bits).data(), grid.g.data(), bits,
                              gamma.data(), beta.data(), back.data());
    for (int64_t i = 0; i < n * c * s; ++i) {
      const int64_t ch = (i / s) % c;
      // Inside the bins that tile the window (a one-sided window reserves one code, and its bins are
      // 6σ/(n-1) wide); there the error in x̂ is at most half a bin over |gamma|.
      const bool all_positive = beta[ch] - 3 * sd[ch] > 0;
      const float lo = grid.offset(ch) + (all_positive ? 1 : 0) * grid.step(ch);
      const float hi = grid.offset(ch) + (1 << bits) * grid.step(ch);
      if (y[i] < lo || y[i] > hi) continue;
      const float half_bin = 0.5f * grid.step(ch) / sd[ch];
      EXPECT_LE(half_bin, 3.0f / ((1 << bits) - 1) * (1 + 1e-5f));
      ASSERT_LE(std::abs(back[i] - xhat[i]), half_bin * (1 + 1e-4f) + 1e-6f) << "bits " << bits << " channel " << ch;
    }
  }
}

TEST(QuantizeCpu, NormalizedDequantizationIsZeroWhereGammaIsZero) {
  Grid grid = grid_for({0.5f}, {0.0f}, 4);
  const std::vector<float> y(10, 0.5f), gamma = {0.0f}, beta = {0.5f};
  std::vector<float> back(10, 7.0f);
  dequantize_normalized_cpu(1, 1, 10, quantize(1, 1, 10, y, grid, 4).data(), grid.g.data(), 4, gamma.data(),
                            beta.data(), back.data());
  for (float v : back) EXPECT_EQ(v, 0.0f);
}

TEST(QuantizeCpu, ConstantChannelReconstructsItsValue) {
  Grid grid = grid_for({2.0f}, {0.0f}, 4);
  const std::vector<float> y(16, 2.0f);
  std::vector<float> back(16);
  dequantize_cpu(1, 1, 16, quantize(1, 1, 16, y, grid, 4).data(), grid.g.data(), 4, back.data());
  for (float v : back) EXPECT_NEAR(v, 2.0f, 1e-4f);
}

TEST(QuantizeCpu, ChannelMeanStdMatchesDoubleReference) {
  const int64_t n = 5, c = 3, s = 37;
  const std::vector<float> y = channel_normals(n, s, {1.0f, -2.0f, 100.0f}, {0.5f, 3.0f, 0.01f}, 4);
  std::vector<float> mean(c), sd(c);
  channel_mean_std_cpu(n, c, s, y.data(), mean.data(), sd.data());
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < s; ++j) sum += y[(i * c + ch) * s + j];
    const double mu = sum / (n * s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < s; ++j) sq += std::pow(y[(i * c + ch) * s + j] - mu, 2);
    EXPECT_NEAR(mean[ch], mu, 1e-6 * std::abs(mu) + 1e-7);
    EXPECT_NEAR(sd[ch], std::sqrt(sq / (n * s)), 1e-5 * std::sqrt(sq / (n * s)));
  }
}

TEST(QuantizeCpu, ResultsDoNotDependOnTheThreadCount) {
  const int64_t n = 8, c = 3, s = 3001;  // well above the parallel threshold
  const std::vector<float> y = channel_normals(n, s, {0.1f, -0.5f, 1.0f}, {1.0f, 2.0f, 0.5f}, 6);
  Grid grid = grid_for({0.1f, -0.5f, 1.0f}, {1.0f, 2.0f, 0.5f}, 4);
  auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<uint8_t> packed = quantize(n, c, s, y, grid, 4);
    std::vector<float> back(y.size());
    dequantize_relu_cpu(n, c, s, packed.data(), grid.g.data(), 4, back.data());
    omp_set_num_threads(saved);
    return std::make_pair(packed, back);
  };
  EXPECT_EQ(run(1), run(3));
}

TEST(QuantizeCpu, BitWidthsOutsideTwoToEightAreInternalErrors) {
  std::vector<float> grid(3), one = {1.0f};
  EXPECT_THROW(relu_grid_cpu(1, one.data(), one.data(), 1, grid.data()), InternalError);
  EXPECT_THROW(relu_grid_cpu(1, one.data(), one.data(), 9, grid.data()), InternalError);
  uint8_t packed[2];
  EXPECT_THROW(quantize_cpu(1, 1, 1, one.data(), grid.data(), 1, packed), InternalError);
}

}  // namespace
}  // namespace frugal
