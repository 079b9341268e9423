// The layout of the packed code stream (ops/cpu/bitpack.h) as host/device arithmetic: code i occupies
// bits [i*bits, (i+1)*bits) of a little-endian bitstream, padding bits of the last byte are zero.
// Every 8 consecutive codes fill exactly `bits` whole bytes, so a stream splits into groups of 8 codes
// that a CUDA thread (or a CPU test) packs or unpacks on its own: group g holds codes [8g, 8g + 8) in
// bytes [bits*g, bits*g + bits), the last group fewer codes in group_bytes() bytes. Codes written by
// either device decode on the other.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace frugal::bitpack {

constexpr int kGroupCodes = 8;

// Groups of a stream of `count` codes.
FRUGAL_HD inline int64_t group_count(int64_t count) { return (count + kGroupCodes - 1) / kGroupCodes; }

// Codes in group g: 8, or fewer in the last group.
FRUGAL_HD inline int codes_in_group(int64_t count, int64_t group) {
  const int64_t left = count - group * kGroupCodes;
  return left < kGroupCodes ? static_cast<int>(left) : kGroupCodes;
}

// Bytes that `codes` codes of one group occupy.
FRUGAL_HD inline int group_bytes(int codes, int bits) { return (codes * bits + 7) / 8; }

// Code j of a group word (j < 8), and the word with code j set (its bits must still be clear). Only
// the low `bits` bits of a code are stored.
FRUGAL_HD inline uint32_t code_at(uint64_t word, int j, int bits) {
  return static_cast<uint32_t>((word >> (j * bits)) & ((uint64_t{1} << bits) - 1));
}
FRUGAL_HD inline uint64_t with_code(uint64_t word, int j, int bits, uint32_t code) {
  return word | ((static_cast<uint64_t>(code) & ((uint64_t{1} << bits) - 1)) << (j * bits));
}

// The bytes of a group, least significant first.
FRUGAL_HD inline void store_group(uint64_t word, int nbytes, uint8_t* out) {
  for (int b = 0; b < nbytes; ++b) out[b] = static_cast<uint8_t>(word >> (8 * b));
}
FRUGAL_HD inline uint64_t load_group(const uint8_t* in, int nbytes) {
  uint64_t w = 0;
  for (int b = 0; b < nbytes; ++b) w |= static_cast<uint64_t>(in[b]) << (8 * b);
  return w;
}

// Group g of codes[count] -> packed (the whole group's bytes), and back.
FRUGAL_HD inline void pack_group(const uint8_t* codes, int64_t count, int64_t group, int bits, uint8_t* packed) {
  const int n = codes_in_group(count, group);
  uint64_t word = 0;
  for (int j = 0; j < n; ++j) word = with_code(word, j, bits, codes[group * kGroupCodes + j]);
  store_group(word, group_bytes(n, bits), packed + group * bits);
}
FRUGAL_HD inline void unpack_group(const uint8_t* packed, int64_t count, int64_t group, int bits, uint8_t* codes) {
  const int n = codes_in_group(count, group);
  const uint64_t word = load_group(packed + group * bits, group_bytes(n, bits));
  for (int j = 0; j < n; ++j) codes[group * kGroupCodes + j] = static_cast<uint8_t>(code_at(word, j, bits));
}

}  // namespace frugal::bitpack
