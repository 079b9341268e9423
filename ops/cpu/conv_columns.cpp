#include "ops/cpu/conv_columns.h"

#include <omp.h>

#include <cstring>

namespace frugal::conv_detail {
namespace {

// Target size of one band of im2col columns: 256K floats (1 MiB) stay in a core's L2 cache while the
// GEMM reads them, and bound the workspace. A band is still at least one output row, and at least
// kMinBandPixels output pixels wide because narrower GEMMs lose more speed than the cache gains.
constexpr int64_t kColumnBandFloats = int64_t{1} << 18;
constexpr int64_t kMinBandPixels = 256;
constexpr int64_t kMinSampleGroupPatch = 128;
// Column budget of small images' sample groups (small_image_gemms), shared by the batch chunks:
// 4 MiB in all.
constexpr int64_t kSmallImageColumnFloats = int64_t{1} << 20;

}  // namespace

ConvDims dims_of(const Conv2dGeometry& g) {
  ConvDims d;
  d.group_in = g.in_channels / g.groups;
  d.group_out = g.out_channels / g.groups;
  d.patch = d.group_in * g.kernel_h * g.kernel_w;
  d.in_plane = g.in_h * g.in_w;
  d.out_h = g.out_h();
  d.out_w = g.out_w();
  d.out_plane = d.out_h * d.out_w;
  d.weight_floats = g.out_channels * d.patch;
  // Bands of near-equal height, so no GEMM is left with a sliver of columns.
  const int64_t row_floats = std::max<int64_t>(1, d.patch * d.out_w);  // one output row of columns
  const int64_t min_rows = (kMinBandPixels + d.out_w - 1) / std::max<int64_t>(1, d.out_w);
  const int64_t max_rows = std::max({int64_t{1}, min_rows, kColumnBandFloats / row_floats});
  const int64_t bands = std::max<int64_t>(1, (d.out_h + max_rows - 1) / max_rows);
  d.band_rows = (d.out_h + bands - 1) / bands;
  // Small images put several samples side by side in the column matrix: as many as a chunk's share of
  // the budget holds, in groups of near-equal size so no GEMM is left with a sliver of samples.
  d.gemm_samples = 1;
  if (small_image_gemms(g)) {
    const int64_t sample_floats = (d.patch + d.group_out) * d.out_plane;  // columns + staged outputs
    const int64_t chunks = batch_chunks(g);
    const int64_t per_chunk = (g.batch + chunks - 1) / chunks;
    const int64_t most =
        std::clamp<int64_t>(kSmallImageColumnFloats / chunks / sample_floats, 1, per_chunk);
    const int64_t groups = (per_chunk + most - 1) / most;
    d.gemm_samples = (per_chunk + groups - 1) / groups;
  }
  d.chunks = batch_chunks(g);
  // Chunked weight gradients need a partial dW per extra chunk; where the whole batch's columns take
  // no more room than those, one GEMM per pass over the whole batch (split over the threads by rows)
  // is faster: its reduction dimension is the whole batch's pixels instead of one group's.
  if (d.gemm_samples > 1 && d.chunks > 1) {
    const int64_t sample_floats = (d.patch + d.group_out) * d.out_plane;
    const int64_t chunked = d.chunks * sample_floats * d.gemm_samples +
                            (d.chunks - 1) * static_cast<int64_t>(partial_gradient_floats(g, d));
    if (sample_floats * g.batch <= chunked) {
      d.chunks = 1;
      d.gemm_samples = g.batch;
    }
  }
  return d;
}

// Images smaller than kMinBandPixels give one sample's GEMMs too few columns to run at speed, so each
// batch chunk puts its samples side by side: 512 channels at 4x4, batch 32 on 2 threads gets GEMMs
// of 16 samples (256 columns) instead of 3 (48), 1.25x faster. Splitting each GEMM over the threads instead
// (one chunk) was slower whenever anything else ran on the cores: it synchronises the threads a few
// times per sample group, not once per pass. Shallow patches (a 1x1 conv of 32 channels) lose more
// to gathering and scattering the planes than they gain.
bool small_image_gemms(const Conv2dGeometry& g) {
  return g.out_h() * g.out_w() < kMinBandPixels &&
         g.in_channels / g.groups * g.kernel_h * g.kernel_w >= kMinSampleGroupPatch &&
         !columns_are_input(g);
}

bool columns_are_input(const Conv2dGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 &&
         g.pad_w == 0;
}


int64_t batch_chunks(const Conv2dGeometry& g) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::max<int64_t>(1, std::min(g.batch, threads));
}


size_t column_floats(const Conv2dGeometry& g, const ConvDims& d) {
  if (columns_are_input(g)) return 0;
  const int64_t width = d.gemm_samples * d.band_rows * d.out_w;
  return static_cast<size_t>(d.patch * width + (d.gemm_samples > 1 ? d.group_out * width : 0));
}

void gather_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                   int64_t samples, float* dst) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && channels * samples > 1)
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t s = 0; s < samples; ++s)
      std::memcpy(dst + (c * samples + s) * plane, src + s * sample_stride + c * plane,
                  sizeof(float) * plane);
}

void scatter_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                    int64_t samples, const float* bias, float* dst) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && channels * samples > 1)
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t s = 0; s < samples; ++s) {
      const float* from = src + (c * samples + s) * plane;
      float* to = dst + s * sample_stride + c * plane;
      const float b = bias ? bias[c] : 0.0f;
      for (int64_t i = 0; i < plane; ++i) to[i] = from[i] + b;
    }
}

void im2col_samples(const Conv2dGeometry& g, const ConvDims& d, const float* x, int64_t x_sample,
                    int64_t samples, float* col) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && samples > 1)
  for (int64_t s = 0; s < samples; ++s)
    im2col_cpu(g, x + s * x_sample, d.group_in, {0, d.out_h}, col + s * d.out_plane,
               samples * d.out_plane);
}

void col2im_add_samples(const Conv2dGeometry& g, const ConvDims& d, const float* col, int64_t samples,
                        float* dx, int64_t dx_sample) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && samples > 1)
  for (int64_t s = 0; s < samples; ++s)
    col2im_add_cpu(g, col + s * d.out_plane, d.group_in, {0, d.out_h}, dx + s * dx_sample,
                   samples * d.out_plane);
}


size_t partial_gradient_floats(const Conv2dGeometry& g, const ConvDims& d) {
  return static_cast<size_t>(d.weight_floats + g.out_channels);
}

}  // namespace frugal::conv_detail
