#include "ops/cpu/fewbit_cpu.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "ops/cpu/bitpack.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinGroups = 1 << 12;  // 32K elements

void check_bits(int bits) {
  FRUGAL_CHECK(bits >= 1 && bits <= 4, InternalError,
               "fewbit kernels: bits must be in 1..4, got " + std::to_string(bits));
}

// The encoder goes a block at a time through a small code buffer: the search over a block vectorises,
// and a block is a whole number of 8-code groups, so it starts on a byte of the packed stream and packs
// with bitpack's byte-wise fast paths.
constexpr int64_t kBlock = 2048;

template <int B>
void search_block(const float* __restrict x, int64_t n, const float* borders, uint8_t* __restrict codes) {
  constexpr int kBorders = (1 << B) - 1;
  float border[kBorders];
  for (int k = 0; k < kBorders; ++k) border[k] = borders[k];
  for (int64_t j = 0; j < n; ++j) {
    int32_t code = 0;
    for (int k = 0; k < kBorders; ++k) code += border[k] < x[j] ? 1 : 0;
    codes[j] = static_cast<uint8_t>(code);
  }
}

inline uint64_t load_bytes(const uint8_t* in, int nbytes) {
  uint64_t w = 0;
  for (int b = 0; b < nbytes; ++b) w |= uint64_t{in[b]} << (8 * b);
  return w;
}

// dx = dy * level, with the bits of the product masked to +0 where the level is 0 (`keep` holds all
// ones or zero per code): branch-free, since a level of 0 is taken by about half of ReLU's elements.
template <int B>
inline void apply_word(uint64_t w, int n, const float* levels, const uint32_t* keep, const float* dy, float* dx) {
  constexpr uint64_t mask = (uint64_t{1} << B) - 1;
  for (int j = 0; j < n; ++j) {
    const uint64_t code = (w >> (j * B)) & mask;
    const float product = dy[j] * levels[code];
    uint32_t bits;
    std::memcpy(&bits, &product, sizeof bits);
    bits &= keep[code];
    std::memcpy(&dx[j], &bits, sizeof bits);
  }
}

template <int B>
void encode_fixed(int64_t n, const float* x, const float* borders, uint8_t* packed) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= 8 * kParallelMinGroups)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t begin = blk * kBlock, len = std::min(kBlock, n - begin);
    uint8_t codes[kBlock];
    search_block<B>(x + begin, len, borders, codes);
    pack_codes(codes, len, B, packed + begin / 8 * B);
  }
}

template <int B>
void backward_fixed(int64_t n, const uint8_t* packed, const float* levels, const float* dy, float* dx) {
  uint32_t keep[1 << B];
  for (int c = 0; c < (1 << B); ++c) keep[c] = levels[c] == 0.0f ? 0u : ~0u;
  const int64_t groups = n / 8;
#pragma omp parallel for schedule(static) if (groups >= kParallelMinGroups)
  for (int64_t g = 0; g < groups; ++g)
    apply_word<B>(load_bytes(packed + B * g, B), 8, levels, keep, dy + 8 * g, dx + 8 * g);
  const int tail = static_cast<int>(n - 8 * groups);
  if (tail > 0)
    apply_word<B>(load_bytes(packed + B * groups, (tail * B + 7) / 8), tail, levels, keep, dy + 8 * groups,
                  dx + 8 * groups);
}

}  // namespace

void fewbit_encode_cpu(int64_t n, const float* x, const float* borders, int bits, uint8_t* packed) {
  check_bits(bits);
  switch (bits) {
    case 1: return encode_fixed<1>(n, x, borders, packed);
    case 2: return encode_fixed<2>(n, x, borders, packed);
    case 3: return encode_fixed<3>(n, x, borders, packed);
    default: return encode_fixed<4>(n, x, borders, packed);
  }
}

void fewbit_backward_cpu(int64_t n, const uint8_t* packed, int bits, const float* levels, const float* dy,
                         float* dx) {
  check_bits(bits);
  switch (bits) {
    case 1: return backward_fixed<1>(n, packed, levels, dy, dx);
    case 2: return backward_fixed<2>(n, packed, levels, dy, dx);
    case 3: return backward_fixed<3>(n, packed, levels, dy, dx);
    default: return backward_fixed<4>(n, packed, levels, dy, dx);
  }
}

}  // namespace frugal
