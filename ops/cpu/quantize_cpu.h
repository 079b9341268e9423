// K-bit per-channel codes of a ReLU pre-activation y (BLPA, Chakrabarti & Moseley 2019), float32.
// Tensors are [N, C, S]: S = H*W for NCHW, S = 1 for [N, C].
//
// Each channel has a uniform grid of n = 2^bits bins, stored as three rows of a [3, C] float array
// (kGridOffset, kGridStep, kGridShift): bin q covers [offset + q*step, offset + (q+1)*step) and is
// reconstructed at its centre. Codes below `shift` are exactly the values y <= 0 and codes from `shift`
// up exactly the values y > 0, with 1 <= shift <= n-1, so the ReLU mask [y > 0] == [q >= shift] is exact
// for every value, clipped or not (ReLU'(0) = 0: y == 0 counts as negative).
//
// Codes are bit-packed with ops/cpu/bitpack.h into packed_bytes(N*C*S, bits) bytes, element order.
// Work is split into fixed chunks partitioned statically over OpenMP threads: results never depend
// on the thread count.
#pragma once
#include "ops/packed_codes.h"
#include <cstdint>

namespace frugal {

// Per-channel mean and (biased) standard deviation over N and S, accumulated in double.
void channel_mean_std_cpu(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std);

// The mean and std of a BatchNorm's output y = gamma x̂ + beta from its parameters: y has mean beta and
// std |gamma| std(x̂) = |gamma| sqrt(var / (var + eps)) = |gamma| sqrt(1 - eps invstd^2) (computed in
// double, clamped at 0).
void batchnorm_output_mean_std_cpu(int64_t c, const float* gamma, const float* beta, const float* save_invstd,
                                   float eps, float* mean, float* std);

// Chooses each channel's grid (grid: [3, C]) from the mean and std of its values, bits in 2..8.
// The window is mean ± 3 std. When it contains 0, the n bins split it with 0 on a bin edge (the bins are
// 6 std / n wide and the window moves by less than one bin to put the edge there). When the whole
// window lies on one side of 0, the code on the other side is reserved for the few values across the
// threshold and the other n-1 bins split the window (6 std / (n-1) wide). Throws InternalError for bits
// outside 2..8.
void relu_grid_cpu(int64_t c, const float* mean, const float* std, int bits, float* grid);

// y [N, C, S] -> packed codes.
void quantize_cpu(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                  uint8_t* packed);

// Packed codes -> ỹ [N, C, S], the bin centres (clamped to <= 0 below shift and >= 0 from shift, so the
// sign of ỹ never contradicts the code; this only moves the reserved bin of a one-sided window).
void dequantize_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                    float* y);

// Packed codes -> ReLU(ỹ): ỹ where q >= shift, 0 elsewhere.
void dequantize_relu_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                         int bits, float* h);

// Packed codes of y = gamma * x̂ + beta (a BatchNorm output) -> x̃ = (ỹ - beta) / gamma, the normalised
// input behind it; 0 in channels with gamma == 0, where y carries no information about x̂.
void dequantize_normalized_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                               int bits, const float* gamma, const float* beta, float* xhat);

// ReLU backward from the codes: dx = dy where q >= shift, 0 elsewhere. dx may alias dy.
void relu_backward_from_codes_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                  int bits, const float* dy, float* dx);

}  // namespace frugal
