// The per-group arithmetic of the CUDA fewbit kernels (ops/fewbit_math.h), run group by group as the
// CUDA threads run it, against the CPU kernels (ops/cpu/fewbit_cpu.h): packed codes byte-identical and
// gradients bit-identical for every width, sizes that end in a partial group, ties at borders, NaN, inf,
// signed zeros, zero levels and dx aliasing dy.
#include "ops/fewbit_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/fewbit_cpu.h"

namespace frugal {
namespace {

const int64_t kSizes[] = {1, 5, 8, 11, 1003, 4096 + 3};

// Random borders (ascending) and levels, one level 0 (a ReLU-like flat piece) and one negative.
FewbitLevels random_table(int bits, uint64_t step) {
  FewbitLevels t;
  t.bits = bits;
  const int borders = (1 << bits) - 1;
  std::vector<float> u(32);
  rng_uniform(rng_key(5, RngStream::Test, step), u.data(), u.size(), -1.0f, 1.0f);
  float b = -2.0f;
  for (int k = 0; k < borders; ++k) t.borders[k] = b += 0.05f + std::fabs(u[k]);
  for (int k = 0; k < (1 << bits); ++k) t.levels[k] = u[16 + k] * 3.0f;
  t.levels[0] = 0.0f;
  return t;
}

// Normal values around the borders, with exact border values and the special floats mixed in.
std::vector<float> inputs(int64_t n, const FewbitLevels& t, uint64_t step) {
  std::vector<float> x(static_cast<size_t>(n));
  rng_normal(rng_key(6, RngStream::Test, step), x.data(), x.size(), 0.0f, 2.0f);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            0.0f,
                            -0.0f,
                            1e-40f,
                            t.borders[0],
                            t.borders[(1 << t.bits) - 2]};
  for (int64_t i = 0; i < n; i += 7) x[i] = specials[(i / 7) % 8];
  return x;
}

template <int B>
std::vector<uint8_t> encode_by_groups(const std::vector<float>& x, const FewbitLevels& t) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> packed(packed_bytes(n, B) + 1, 0xCD);
  for (int64_t g = 0; g < bitpack::group_count(n); ++g) fewbit::encode_group<B>(n, g, x.data(), t, packed.data());
  EXPECT_EQ(packed.back(), 0xCD) << "a group wrote past packed_bytes";
  packed.pop_back();
  return packed;
}

template <int B>
void backward_by_groups(int64_t n, const std::vector<uint8_t>& packed, const FewbitLevels& t, const float* dy,
                        float* dx) {
  for (int64_t g = 0; g < bitpack::group_count(n); ++g)
    fewbit::backward_group<B>(n, g, packed.data(), t.levels, dy, dx);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

template <int B>
void check_width() {
  for (int64_t n : kSizes) {
    const FewbitLevels t = random_table(B, B * 10 + n);
    const std::vector<float> x = inputs(n, t, n);
    std::vector<uint8_t> cpu(packed_bytes(n, B));
    fewbit_encode_cpu(n, x.data(), t.borders, B, cpu.data());
    const std::vector<uint8_t> packed = encode_by_groups<B>(x, t);
    ASSERT_EQ(packed, cpu) << "bits " << B << " n " << n;

    std::vector<float> dy = inputs(n, t, n + 1), dx_cpu(n), dx(n, 123.0f);
    fewbit_backward_cpu(n, cpu.data(), B, t.levels, dy.data(), dx_cpu.data());
    backward_by_groups<B>(n, packed, t, dy.data(), dx.data());
    EXPECT_TRUE(same_bits(dx, dx_cpu)) << "bits " << B << " n " << n;

    backward_by_groups<B>(n, packed, t, dy.data(), dy.data());  // in place
    EXPECT_TRUE(same_bits(dy, dx_cpu)) << "in place, bits " << B << " n " << n;
  }
}

TEST(FewbitMath, GroupsEncodeAndBackwardAsTheCpuKernelsAtEveryWidth) {
  check_width<1>();
  check_width<2>();
  check_width<3>();
  check_width<4>();
}

TEST(FewbitMath, AZeroLevelGivesPositiveZeroWhateverTheGradient) {
  const float dys[] = {-0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), -3.0f};
  for (float dy : dys) {
    const float g = fewbit::gradient(dy, 0.0f);
    EXPECT_EQ(g, 0.0f);
    EXPECT_FALSE(std::signbit(g)) << dy;
  }
  EXPECT_EQ(fewbit::gradient(-3.0f, 0.5f), -1.5f);
}

TEST(FewbitMath, ACodeCountsTheBordersStrictlyBelowTheValue) {
  FewbitLevels t;
  t.bits = 2;
  const float borders[] = {-1.0f, 0.0f, 1.0f};
  for (int k = 0; k < 3; ++k) t.borders[k] = borders[k];
  EXPECT_EQ(fewbit::code_of<2>(-1.0f, t), 0u);  // a tie stays below the border
  EXPECT_EQ(fewbit::code_of<2>(-0.5f, t), 1u);
  EXPECT_EQ(fewbit::code_of<2>(0.0f, t), 1u);
  EXPECT_EQ(fewbit::code_of<2>(1.5f, t), 3u);
  EXPECT_EQ(fewbit::code_of<2>(std::numeric_limits<float>::quiet_NaN(), t), 0u);
}

}  // namespace
}  // namespace frugal
