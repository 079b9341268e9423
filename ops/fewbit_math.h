// The arithmetic of the fewbit kernels (ops/cpu/fewbit_cpu.h) per code and per group of 8 codes, for
// the CUDA kernels (ops/cuda/fewbit_cuda.cu) and the CPU tests that hold it against the CPU kernels.
// B (the code width, 1..4) is a template argument so the border search unrolls and the table stays in
// registers.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/bitpack_math.h"
#include "ops/hd_float.h"
#include "ops/packed_codes.h"

namespace frugal::fewbit {

// The number of borders below x (a lower-bound search over 2^B - 1 ascending borders); NaN -> 0.
template <int B>
FRUGAL_HD inline uint32_t code_of(float x, const FewbitLevels& table) {
  uint32_t code = 0;
  for (int k = 0; k < (1 << B) - 1; ++k) code += table.borders[k] < x ? 1u : 0u;
  return code;
}

// dy * level, and +0 exactly where the level is 0 (as ReLU's exact backward, even for dy = -0, inf or
// NaN).
FRUGAL_HD inline float gradient(float dy, float level) { return level == 0.0f ? 0.0f : hd::mul_rn(dy, level); }

// Encodes group g of x[n] into its bytes of packed[packed_bytes(n, B)].
template <int B>
FRUGAL_HD inline void encode_group(int64_t n, int64_t group, const float* x, const FewbitLevels& table,
                                   uint8_t* packed) {
  const int count = bitpack::codes_in_group(n, group);
  const float* xs = x + group * bitpack::kGroupCodes;
  uint64_t word = 0;
  for (int j = 0; j < count; ++j) word = bitpack::with_code(word, j, B, code_of<B>(xs[j], table));
  bitpack::store_group(word, bitpack::group_bytes(count, B), packed + group * B);
}

// dx = dy * levels[code] over the elements of group g (levels: 2^B values, the table's, or a copy the
// CUDA kernel keeps in shared memory so the dynamic lookup stays out of local memory); dx may alias dy.
template <int B>
FRUGAL_HD inline void backward_group(int64_t n, int64_t group, const uint8_t* packed, const float* levels,
                                     const float* dy, float* dx) {
  const int count = bitpack::codes_in_group(n, group);
  const uint64_t word = bitpack::load_group(packed + group * B, bitpack::group_bytes(count, B));
  const int64_t first = group * bitpack::kGroupCodes;
  for (int j = 0; j < count; ++j) dx[first + j] = gradient(dy[first + j], levels[bitpack::code_at(word, j, B)]);
}

}  // namespace frugal::fewbit
