// im2col / col2im for one sample, one group of channels and a band of output rows. The column matrix
// has one row per (channel, kh, kw) and one column per output pixel of the band, so
// conv(band) = weight[O/g, C/g*KH*KW] x col. Working in bands keeps the columns small enough for cache.
#pragma once
#include <cstdint>

#include "ops/cpu/conv_cpu.h"

namespace frugal {

// Output rows [begin, end) of one sample.
struct OutputRows {
  int64_t begin, end;
  int64_t count() const { return end - begin; }
};

// col[channels*KH*KW, rows.count()*OW] from x[channels, H, W]; taps that fall into the padding are
// 0. col_stride is the distance between rows of col (0: the band width rows.count()*OW); a wider
// stride lets several samples' columns sit side by side in one matrix.
void im2col_cpu(const Conv2dGeometry& g, const float* x, int64_t channels, OutputRows rows,
                float* col, int64_t col_stride = 0);

// The adjoint of im2col_cpu: adds each entry of col[channels*KH*KW, rows.count()*OW] into the input
// pixel dx[channels, H, W] it was read from. Accumulation order is fixed, so results are deterministic.
void col2im_add_cpu(const Conv2dGeometry& g, const float* col, int64_t channels, OutputRows rows,
                    float* dx, int64_t col_stride = 0);

}  // namespace frugal
