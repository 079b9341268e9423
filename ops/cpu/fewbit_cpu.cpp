#include "ops/cpu/fewbit_cpu.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinGroups = 1 << 12;  // 32K elements

void check_bits(int bits) {
  FRUGAL_CHECK(bits >= 1 && bits <= 4, InternalError,
               "fewbit kernels: bits must be in 1..4, got " + std::to_string(bits));
}

// Codes are searched a block at a time into a small buffer (the compare loop over a block vectorises;
// a block is a whole number of 8-code groups, so it packs into whole bytes) and then packed.
constexpr int64_t kBlock = 512;

template <int B>
inline void search_block(const float* x, int n, const float* borders, uint32_t* codes) {
  constexpr int kBorders = (1 << B) - 1;
  for (int j = 0; j < n; ++j) codes[j] = 0;
  for (int k = 0; k < kBorders; ++k) {
    const float border = borders[k];
    for (int j = 0; j < n; ++j) codes[j] += border < x[j] ? 1u : 0u;
  }
}

// Codes [0, n) (n <= 8, each < 2^B) as one little-endian word: code j at bits [j*B, (j+1)*B).
template <int B>
inline uint64_t gather_word(const uint32_t* codes, int n) {
  uint64_t w = 0;
  for (int j = 0; j < n; ++j) w |= uint64_t{codes[j]} << (j * B);
  return w;
}

inline void store_bytes(uint64_t w, int nbytes, uint8_t* out) {
  for (int b = 0; b < nbytes; ++b) out[b] = static_cast<uint8_t>(w >> (8 * b));
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
    const int64_t begin = blk * kBlock;
    const int len = static_cast<int>(std::min<int64_t>(kBlock, n - begin));
    uint32_t codes[kBlock];
    search_block<B>(x + begin, len, borders, codes);
    uint8_t* out = packed + begin / 8 * B;
    const int groups = len / 8, tail = len % 8;
    for (int g = 0; g < groups; ++g) store_bytes(gather_word<B>(codes + 8 * g, 8), B, out + B * g);
    if (tail > 0) store_bytes(gather_word<B>(codes + 8 * groups, tail), (tail * B + 7) / 8, out + B * groups);
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
