// Kernels of the fewbit backward mode: the forward keeps, per element, the index of the interval of a
// piecewise-constant derivative table that x falls in, as a `bits`-wide code in the dense bitstream of
// ops/cpu/bitpack.h; the backward multiplies the incoming gradient by the table level of each code.
// Both are single passes (search and pack fused per block; unpack on the fly), split statically over
// OpenMP threads in whole groups of 8 elements (8 codes fill `bits` whole bytes), so outputs are
// thread-count free.
#pragma once
#include <cstdint>

namespace frugal {

// packed[packed_bytes(n, bits)] <- code_i = #{j : borders[j] < x[i]} (lower-bound search; NaN -> 0).
// borders: 2^bits - 1 ascending values; bits in 1..4.
void fewbit_encode_cpu(int64_t n, const float* x, const float* borders, int bits, uint8_t* packed);

// dx[i] = dy[i] * levels[code_i], and exactly 0 where the level is 0 (as ReLU's exact backward, even
// for dy = -0, inf or NaN). levels: 2^bits values. dx may alias dy.
void fewbit_backward_cpu(int64_t n, const uint8_t* packed, int bits, const float* levels, const float* dy,
                         float* dx);

}  // namespace frugal
