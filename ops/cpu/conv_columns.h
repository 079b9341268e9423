// Building blocks of the im2col + sgemm conv passes (conv_cpu.cpp): sizes derived from the geometry,
// bands of output rows, groups of small samples side by side, and the split of the batch into one chunk
// per OpenMP thread. Not for use outside the conv kernels.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "ops/cpu/conv_cpu.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/im2col.h"

namespace frugal::conv_detail {

// Sizes derived from the geometry, per group.
struct ConvDims {
  int64_t group_in;       // C / groups
  int64_t group_out;      // O / groups
  int64_t patch;          // C/groups * KH * KW: rows of the column matrix, columns of a weight group
  int64_t in_plane;       // H * W
  int64_t out_h, out_w;   // OH, OW
  int64_t out_plane;      // OH * OW
  int64_t weight_floats;  // O * C/groups * KH * KW
  int64_t band_rows;      // output rows per im2col band
  int64_t gemm_samples;   // samples whose columns share one GEMM (several when images are small)
  int64_t chunks;         // batch chunks of the GEMM passes (1: the whole batch in one GEMM per pass)
};

ConvDims dims_of(const Conv2dGeometry& g);
// The batch is split into this many contiguous chunks, each with its own slice of the workspace. It
// depends only on the geometry and the OpenMP thread count, never on scheduling.
int64_t batch_chunks(const Conv2dGeometry& g);
inline int64_t chunk_begin(int64_t chunk, int64_t chunks, int64_t batch) { return chunk * batch / chunks; }
// A 1x1, stride-1, unpadded conv reads its input as the column matrix directly: no im2col.
bool columns_are_input(const Conv2dGeometry& g);
// Small images put several samples side by side in one GEMM (dims_of's gemm_samples).
bool small_image_gemms(const Conv2dGeometry& g);
// Columns of one band (of gemm_samples samples), then, for several samples, their outputs (or
// output gradients) gathered into one [O/g, samples*OH*OW] matrix.
size_t column_floats(const Conv2dGeometry& g, const ConvDims& d);
// Partial dW and db of one batch chunk other than the first (which accumulates into dw/db directly).
size_t partial_gradient_floats(const Conv2dGeometry& g, const ConvDims& d);

// dst[c][s*plane + i] = src[s*sample_stride + c*plane + i]: planes of several samples side by side.
void gather_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                   int64_t samples, float* dst);
// The inverse of gather_planes, adding bias[c] (bias may be null).
void scatter_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                    int64_t samples, const float* bias, float* dst);
// col[patch, samples*OH*OW]: the columns of whole samples side by side.
void im2col_samples(const Conv2dGeometry& g, const ConvDims& d, const float* x, int64_t x_sample,
                    int64_t samples, float* col);
// The adjoint of im2col_samples, adding into dx.
void col2im_add_samples(const Conv2dGeometry& g, const ConvDims& d, const float* col, int64_t samples,
                        float* dx, int64_t dx_sample);

// Calls body(rows) for consecutive bands of output rows covering [0, OH).
template <class Body>
inline void for_each_band(const ConvDims& d, const Body& body) {
  for (int64_t begin = 0; begin < d.out_h; begin += d.band_rows)
    body(OutputRows{begin, std::min(d.out_h, begin + d.band_rows)});
}

// Calls body(n, samples) for consecutive groups of up to gemm_samples samples covering [n_begin,
// n_end).
template <class Body>
inline void for_each_sample_group(const ConvDims& d, int64_t n_begin, int64_t n_end, const Body& body) {
  for (int64_t n = n_begin; n < n_end; n += d.gemm_samples)
    body(n, std::min(d.gemm_samples, n_end - n));
}

// Runs body(chunk, first_sample, end_sample) for every batch chunk. Several chunks run in parallel, each
// GEMM single-threaded; a single chunk (batch smaller than two) runs here and its GEMMs split over the
// threads instead (sgemm_rowmajor_parallel does whichever applies).
template <class Body>
inline void for_each_batch_chunk(const Conv2dGeometry& g, int64_t chunks, const Body& body) {
  if (chunks == 1) {
    body(0, 0, g.batch);
    return;
  }
  BlasSingleThreadScope single_threaded_blas;
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(chunks))
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    body(chunk, chunk_begin(chunk, chunks, g.batch), chunk_begin(chunk + 1, chunks, g.batch));
  }
}

}  // namespace frugal::conv_detail
