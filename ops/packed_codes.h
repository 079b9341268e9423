// Sizes and layouts of the low-bit codes that backward modes stash, shared by every backend: the dense
// bitstream of packed codes (ops/cpu/bitpack.h), the per-channel grid of the quantized mode
// (ops/cpu/quantize_cpu.h) and the derivative table of the fewbit mode (ops/cpu/fewbit_cpu.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace frugal {

// Bytes of `count` codes of `bits` bits each: ceil(count * bits / 8). Throws InternalError when bits is
// outside 1..8 or count is negative.
size_t packed_bytes(int64_t count, int bits);

// The quantized mode's grid: [kQuantGridRows, C] floats, one row per field.
constexpr int kQuantGridRows = 3;
constexpr int kGridOffset = 0, kGridStep = 1, kGridShift = 2;

// A fewbit derivative table by value (a kernel argument on any device): code q of an element is the
// number of borders below it, and its derivative is levels[q]. bits in 1..kMaxFewbitBits.
constexpr int kMaxFewbitBits = 4;
struct FewbitLevels {
  int bits = 1;
  float borders[(1 << kMaxFewbitBits) - 1] = {};  // 2^bits - 1 ascending values are used
  float levels[1 << kMaxFewbitBits] = {};         // 2^bits values are used
};

}  // namespace frugal
