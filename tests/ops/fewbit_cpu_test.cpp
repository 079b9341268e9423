// fewbit kernels: the fused search-and-pack against lower_bound + pack_codes, and the backward against
// unpack + multiply, for every width and odd sizes; ties at borders, NaN, zero levels, aliasing and
// thread-count independence.
#include "ops/cpu/fewbit_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/cpu/bitpack.h"

namespace frugal {
namespace {

std::vector<float> normal_floats(int64_t n, uint64_t step, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  rng_normal(rng_key(91, RngStream::Test, step), v.data(), v.size());
  for (float& x : v) x *= scale;
  return v;
}

// 2^bits - 1 ascending borders spread over [-2, 2].
std::vector<float> borders_for(int bits) {
  const int count = (1 << bits) - 1;
  std::vector<float> b(count);
  for (int j = 0; j < count; ++j) b[j] = -2.0f + 4.0f * (j + 1) / (count + 1) + 0.01f * j * j;
  return b;
}

std::vector<float> levels_for(int bits) {
  std::vector<float> l(1u << bits);
  for (size_t j = 0; j < l.size(); ++j) l[j] = 0.37f * static_cast<float>(j) - 0.5f;
  return l;
}

std::vector<uint8_t> reference_codes(const std::vector<float>& x, const std::vector<float>& borders) {
  std::vector<uint8_t> codes(x.size());
  for (size_t i = 0; i < x.size(); ++i)  // first border >= x; NaN compares false, so code 0
    codes[i] = static_cast<uint8_t>(
        std::isnan(x[i]) ? 0 : std::lower_bound(borders.begin(), borders.end(), x[i]) - borders.begin());
  return codes;
}

std::vector<uint8_t> encode(const std::vector<float>& x, const std::vector<float>& borders, int bits) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> packed(packed_bytes(n, bits) + 1, 0xEE);  // guard byte
  fewbit_encode_cpu(n, x.data(), borders.data(), bits, packed.data());
  EXPECT_EQ(packed.back(), 0xEE) << "encode wrote past packed_bytes";
  packed.pop_back();
  return packed;
}

const std::vector<int64_t> kCounts = {1, 5, 8, 13, 1001, 100003};

TEST(FewbitCpu, EncodeEqualsLowerBoundSearchThenPacking) {
  for (int bits = 1; bits <= 4; ++bits)
    for (int64_t n : kCounts) {
      const auto borders = borders_for(bits);
      const auto x = normal_floats(n, 10 * bits + n, 1.5f);
      const auto codes = reference_codes(x, borders);
      std::vector<uint8_t> want(packed_bytes(n, bits));
      pack_codes(codes.data(), n, bits, want.data());
      EXPECT_EQ(encode(x, borders, bits), want) << "bits=" << bits << " n=" << n;
    }
}

TEST(FewbitCpu, ValueOnABorderTakesTheLowerCodeAndNanTakesCodeZero) {
  const int bits = 2;
  const std::vector<float> borders = {-1.0f, 0.0f, 1.0f};
  const std::vector<float> x = {-1.0f, 0.0f, 1.0f, std::nextafter(1.0f, 2.0f), -5.0f, 5.0f,
                                std::numeric_limits<float>::quiet_NaN(), -0.0f};
  const std::vector<uint8_t> want_codes = {0, 1, 2, 3, 0, 3, 0, 1};
  std::vector<uint8_t> codes(x.size());
  unpack_codes(encode(x, borders, bits).data(), static_cast<int64_t>(x.size()), bits, codes.data());
  EXPECT_EQ(codes, want_codes);
}

TEST(FewbitCpu, BackwardMultipliesGradientByLevelOfEachCode) {
  for (int bits = 1; bits <= 4; ++bits)
    for (int64_t n : kCounts) {
      const auto borders = borders_for(bits);
      const auto levels = levels_for(bits);
      const auto x = normal_floats(n, 100 + 10 * bits + n, 1.5f);
      const auto dy = normal_floats(n, 200 + 10 * bits + n, 1.0f);
      const auto codes = reference_codes(x, borders);
      const auto packed = encode(x, borders, bits);
      std::vector<float> dx(static_cast<size_t>(n) + 1, 123.0f);
      fewbit_backward_cpu(n, packed.data(), bits, levels.data(), dy.data(), dx.data());
      EXPECT_EQ(dx.back(), 123.0f) << "backward wrote past n";
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float level = levels[codes[i]];
        wrong += dx[i] != (level == 0.0f ? 0.0f : dy[i] * level);
      }
      EXPECT_EQ(wrong, 0) << "bits=" << bits << " n=" << n;
    }
}

TEST(FewbitCpu, ZeroLevelGivesPositiveZeroEvenForNegativeInfiniteOrNanGradients) {
  // As ReLU's exact backward (y > 0 ? dy : 0), so 1-bit fewbit on ReLU is bit-identical to it.
  const std::vector<float> borders = {0.0f}, levels = {0.0f, 1.0f};
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {-1.0f, -1.0f, -1.0f, -1.0f, 2.0f, 2.0f};
  const std::vector<float> dy = {-3.0f, -inf, nan, -0.0f, -3.0f, -0.0f};
  std::vector<float> dx(x.size());
  fewbit_backward_cpu(6, encode(x, borders, 1).data(), 1, levels.data(), dy.data(), dx.data());
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(std::signbit(dx[i]) || dx[i] != 0.0f) << "element " << i;
  EXPECT_EQ(dx[4], -3.0f);
  EXPECT_TRUE(std::signbit(dx[5]));  // dy passes through unchanged where the level is 1
}

TEST(FewbitCpu, BackwardInPlaceOverTheGradientGivesTheSameResult) {
  const int bits = 3;
  const int64_t n = 77;
  const auto borders = borders_for(bits);
  const auto levels = levels_for(bits);
  const auto packed = encode(normal_floats(n, 5, 1.5f), borders, bits);
  auto dy = normal_floats(n, 6, 1.0f);
  std::vector<float> dx(n);
  fewbit_backward_cpu(n, packed.data(), bits, levels.data(), dy.data(), dx.data());
  fewbit_backward_cpu(n, packed.data(), bits, levels.data(), dy.data(), dy.data());
  EXPECT_EQ(dy, dx);
}

TEST(FewbitCpu, ResultsDoNotDependOnThreadCount) {
  const int64_t n = (1 << 20) + 3;
  const int saved = omp_get_max_threads();
  for (int bits : {1, 3, 4}) {
    const auto borders = borders_for(bits);
    const auto levels = levels_for(bits);
    const auto x = normal_floats(n, 300 + bits, 1.5f);
    const auto dy = normal_floats(n, 400 + bits, 1.0f);
    std::vector<float> dx1(n), dx4(n);
    omp_set_num_threads(1);
    const auto p1 = encode(x, borders, bits);
    fewbit_backward_cpu(n, p1.data(), bits, levels.data(), dy.data(), dx1.data());
    omp_set_num_threads(4);
    const auto p4 = encode(x, borders, bits);
    fewbit_backward_cpu(n, p4.data(), bits, levels.data(), dy.data(), dx4.data());
    EXPECT_EQ(p1, p4) << "bits=" << bits;
    EXPECT_EQ(0, std::memcmp(dx1.data(), dx4.data(), n * sizeof(float))) << "bits=" << bits;
  }
  omp_set_num_threads(saved);
}

TEST(FewbitCpu, WidthsOutsideOneToFourAreRejected) {
  float x = 0, b[31] = {}, l[32] = {};
  uint8_t p[8] = {};
  EXPECT_THROW(fewbit_encode_cpu(1, &x, b, 0, p), InternalError);
  EXPECT_THROW(fewbit_encode_cpu(1, &x, b, 5, p), InternalError);
  EXPECT_THROW(fewbit_backward_cpu(1, p, 5, l, &x, &x), InternalError);
}

}  // namespace
}  // namespace frugal
