#include "ops/cpu/bitpack.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinGroups = 1 << 13;  // 64K codes: below this threads cost more than they save
constexpr int64_t kGroupsPerTask = 512;          // 4K codes per loop iteration of the thread split

void check_bits(int bits) {
  FRUGAL_CHECK(bits >= 1 && bits <= 8, InternalError,
               "bit packing: bits must be in 1..8, got " + std::to_string(bits));
}

// Codes [0, n) with n <= 8 as one little-endian word: code j at bits [j*B, (j+1)*B).
template <int B>
inline uint64_t gather_word(const uint8_t* codes, int n) {
  constexpr uint64_t mask = (uint64_t{1} << B) - 1;
  uint64_t w = 0;
  for (int j = 0; j < n; ++j) w |= (codes[j] & mask) << (j * B);
  return w;
}

template <int B>
inline void scatter_word(uint64_t w, int n, uint8_t* codes) {
  constexpr uint64_t mask = (uint64_t{1} << B) - 1;
  for (int j = 0; j < n; ++j) codes[j] = static_cast<uint8_t>((w >> (j * B)) & mask);
}

inline void store_bytes(uint64_t w, int nbytes, uint8_t* out) {
  for (int b = 0; b < nbytes; ++b) out[b] = static_cast<uint8_t>(w >> (8 * b));
}

inline uint64_t load_bytes(const uint8_t* in, int nbytes) {
  uint64_t w = 0;
  for (int b = 0; b < nbytes; ++b) w |= uint64_t{in[b]} << (8 * b);
  return w;
}

// Widths that divide 8 (1, 2, 4): a packed byte holds 8/B whole codes, which unpack to a word of 8/B
// bytes (W) with code k in byte k. Shifting copies of the byte by k*(8-B) moves code k to the bottom
// of byte k, and a mask clears the rest; packing runs the same shifts backwards. Word-wide shifts and
// ors vectorise, byte-wide code assembly does not. The words are little-endian, as the stream is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "code words assume a little-endian machine");
template <int B> struct CodeWord;
template <> struct CodeWord<1> { using type = uint64_t; };
template <> struct CodeWord<2> { using type = uint32_t; };
template <> struct CodeWord<4> { using type = uint16_t; };

template <int B>
constexpr typename CodeWord<B>::type low_bits_of_each_byte() {
  uint64_t m = 0;
  for (int k = 0; k < 8 / B; ++k) m |= ((uint64_t{1} << B) - 1) << (8 * k);
  return static_cast<typename CodeWord<B>::type>(m);
}

template <int B>
void pack_whole_bytes(const uint8_t* __restrict codes, int64_t bytes, uint8_t* __restrict packed) {
  using W = typename CodeWord<B>::type;
  constexpr W kMask = low_bits_of_each_byte<B>();
  for (int64_t i = 0; i < bytes; ++i) {
    W w;
    std::memcpy(&w, codes + i * sizeof(W), sizeof(W));
    w &= kMask;
    W b = 0;
    for (int k = 0; k < 8 / B; ++k) b |= static_cast<W>(w >> (k * (8 - B)));
    packed[i] = static_cast<uint8_t>(b);
  }
}

template <int B>
void unpack_whole_bytes(const uint8_t* __restrict packed, int64_t bytes, uint8_t* __restrict codes) {
  using W = typename CodeWord<B>::type;
  constexpr W kMask = low_bits_of_each_byte<B>();
  for (int64_t i = 0; i < bytes; ++i) {
    const W b = packed[i];
    W w = 0;
    for (int k = 0; k < 8 / B; ++k) w |= static_cast<W>(b << (k * (8 - B)));
    w &= kMask;
    std::memcpy(codes + i * sizeof(W), &w, sizeof(W));
  }
}

// B is a compile-time constant so each width gets its own unrolled loop. A group of 8 codes is B whole
// bytes; for B = 3, 5, 6, 7 codes straddle bytes and go through a 64-bit word.
template <int B>
void pack_fixed(const uint8_t* codes, int64_t count, uint8_t* packed) {
  const int64_t groups = count / 8;
#pragma omp parallel for schedule(static) if (groups >= kParallelMinGroups)
  for (int64_t g = 0; g < groups; g += kGroupsPerTask) {
    const int64_t end = std::min(groups, g + kGroupsPerTask);
    if constexpr (8 % B == 0) {
      pack_whole_bytes<B>(codes + 8 * g, B * (end - g), packed + B * g);
    } else {
      for (int64_t k = g; k < end; ++k) store_bytes(gather_word<B>(codes + 8 * k, 8), B, packed + B * k);
    }
  }
  const int tail = static_cast<int>(count - 8 * groups);
  if (tail > 0)
    store_bytes(gather_word<B>(codes + 8 * groups, tail), (tail * B + 7) / 8, packed + B * groups);
}

template <int B>
void unpack_fixed(const uint8_t* packed, int64_t count, uint8_t* codes) {
  const int64_t groups = count / 8;
#pragma omp parallel for schedule(static) if (groups >= kParallelMinGroups)
  for (int64_t g = 0; g < groups; g += kGroupsPerTask) {
    const int64_t end = std::min(groups, g + kGroupsPerTask);
    if constexpr (8 % B == 0) {
      unpack_whole_bytes<B>(packed + B * g, B * (end - g), codes + 8 * g);
    } else {
      for (int64_t k = g; k < end; ++k) scatter_word<B>(load_bytes(packed + B * k, B), 8, codes + 8 * k);
    }
  }
  const int tail = static_cast<int>(count - 8 * groups);
  if (tail > 0)
    scatter_word<B>(load_bytes(packed + B * groups, (tail * B + 7) / 8), tail, codes + 8 * groups);
}

}  // namespace

void pack_codes(const uint8_t* codes, int64_t count, int bits, uint8_t* packed) {
  check_bits(bits);
  if (count == 0) return;  // the buffers of no codes may be null, which memcpy must not see
  switch (bits) {
    case 1: return pack_fixed<1>(codes, count, packed);
    case 2: return pack_fixed<2>(codes, count, packed);
    case 3: return pack_fixed<3>(codes, count, packed);
    case 4: return pack_fixed<4>(codes, count, packed);
    case 5: return pack_fixed<5>(codes, count, packed);
    case 6: return pack_fixed<6>(codes, count, packed);
    case 7: return pack_fixed<7>(codes, count, packed);
    default: std::memcpy(packed, codes, static_cast<size_t>(count)); return;  // 8 bits: one byte each
  }
}

void unpack_codes(const uint8_t* packed, int64_t count, int bits, uint8_t* codes) {
  check_bits(bits);
  if (count == 0) return;
  switch (bits) {
    case 1: return unpack_fixed<1>(packed, count, codes);
    case 2: return unpack_fixed<2>(packed, count, codes);
    case 3: return unpack_fixed<3>(packed, count, codes);
    case 4: return unpack_fixed<4>(packed, count, codes);
    case 5: return unpack_fixed<5>(packed, count, codes);
    case 6: return unpack_fixed<6>(packed, count, codes);
    case 7: return unpack_fixed<7>(packed, count, codes);
    default: std::memcpy(codes, packed, static_cast<size_t>(count)); return;
  }
}

}  // namespace frugal
