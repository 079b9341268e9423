#include "ops/cpu/conv_cpu.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "ops/cpu/bias_grad.h"
#include "ops/cpu/conv_direct.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/im2col.h"

namespace frugal {

namespace {

// floor(a / b) for b > 0 and any sign of a (C++ division truncates towards zero).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  if (stride <= 0) return 0;
  return floor_div(in + 2 * pad - dilation * (kernel - 1) - 1, stride) + 1;
}

// Target size of one band of im2col columns: 256K floats (1 MiB) stay in a core's L2 cache while the
// GEMM reads them, and bound the workspace. A band is still at least one output row, and at least
// kMinBandPixels output pixels wide because narrower GEMMs lose more speed than the cache gains.
constexpr int64_t kColumnBandFloats = int64_t{1} << 18;
constexpr int64_t kMinBandPixels = 256;
constexpr int64_t kMinSampleGroupPatch = 128;
// Column budget of small images' sample groups (small_image_gemms), shared by the batch chunks:
// 4 MiB in all.
constexpr int64_t kSmallImageColumnFloats = int64_t{1} << 20;

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
};

int64_t batch_chunks(const Conv2dGeometry& g);
bool columns_are_input(const Conv2dGeometry& g);
bool small_image_gemms(const Conv2dGeometry& g);

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

// A 1x1, stride-1, unpadded conv reads its input as the column matrix directly: no im2col.
bool columns_are_input(const Conv2dGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 &&
         g.pad_w == 0;
}

// Calls body(rows) for consecutive bands of output rows covering [0, OH).
template <class Body>
void for_each_band(const ConvDims& d, const Body& body) {
  for (int64_t begin = 0; begin < d.out_h; begin += d.band_rows)
    body(OutputRows{begin, std::min(d.out_h, begin + d.band_rows)});
}

// The batch is split into this many contiguous chunks, each with its own slice of the workspace. It
// depends only on the geometry and the OpenMP thread count, never on scheduling.
int64_t batch_chunks(const Conv2dGeometry& g) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::max<int64_t>(1, std::min(g.batch, threads));
}

int64_t chunk_begin(int64_t chunk, int64_t chunks, int64_t batch) { return chunk * batch / chunks; }

// Columns of one band (of gemm_samples samples), then, for several samples, their outputs (or
// output gradients) gathered into one [O/g, samples*OH*OW] matrix.
size_t column_floats(const Conv2dGeometry& g, const ConvDims& d) {
  if (columns_are_input(g)) return 0;
  const int64_t width = d.gemm_samples * d.band_rows * d.out_w;
  return static_cast<size_t>(d.patch * width + (d.gemm_samples > 1 ? d.group_out * width : 0));
}

// dst[c][s*plane + i] = src[s*sample_stride + c*plane + i]: planes of several samples side by side.
void gather_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                   int64_t samples, float* dst) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t s = 0; s < samples; ++s)
      std::memcpy(dst + (c * samples + s) * plane, src + s * sample_stride + c * plane,
                  sizeof(float) * plane);
}

// The inverse of gather_planes, adding bias[c] (bias may be null).
void scatter_planes(const float* src, int64_t sample_stride, int64_t channels, int64_t plane,
                    int64_t samples, const float* bias, float* dst) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t s = 0; s < samples; ++s) {
      const float* from = src + (c * samples + s) * plane;
      float* to = dst + s * sample_stride + c * plane;
      const float b = bias ? bias[c] : 0.0f;
      for (int64_t i = 0; i < plane; ++i) to[i] = from[i] + b;
    }
}

// col[patch, samples*OH*OW]: the columns of whole samples side by side.
void im2col_samples(const Conv2dGeometry& g, const ConvDims& d, const float* x, int64_t x_sample,
                    int64_t samples, float* col) {
  for (int64_t s = 0; s < samples; ++s)
    im2col_cpu(g, x + s * x_sample, d.group_in, {0, d.out_h}, col + s * d.out_plane,
               samples * d.out_plane);
}

// The adjoint of im2col_samples, adding into dx.
void col2im_add_samples(const Conv2dGeometry& g, const ConvDims& d, const float* col, int64_t samples,
                        float* dx, int64_t dx_sample) {
  for (int64_t s = 0; s < samples; ++s)
    col2im_add_cpu(g, col + s * d.out_plane, d.group_in, {0, d.out_h}, dx + s * dx_sample,
                   samples * d.out_plane);
}

// Calls body(n, samples) for consecutive groups of up to gemm_samples samples covering [n_begin,
// n_end).
template <class Body>
void for_each_sample_group(const ConvDims& d, int64_t n_begin, int64_t n_end, const Body& body) {
  for (int64_t n = n_begin; n < n_end; n += d.gemm_samples)
    body(n, std::min(d.gemm_samples, n_end - n));
}

// Partial dW and db of one batch chunk other than the first (which accumulates into dw/db directly).
size_t partial_gradient_floats(const Conv2dGeometry& g, const ConvDims& d) {
  return static_cast<size_t>(d.weight_floats + g.out_channels);
}

// Per-thread scratch above which the direct kernels hand over to banded im2col: the direct kernels keep
// whole padded planes, which only large images make big.
constexpr size_t kMaxDirectScratchFloats = size_t{1} << 20;

// The direct kernels (conv_direct.h) are considered when every thread has samples of its own; 1x1
// convs go to sgemm instead (their im2col is at most a subsampling copy, and one tap gives the
// direct kernel too little work per loaded vector). Each pass then checks that its direct kernel
// suits the shape.
bool direct_candidate(const Conv2dGeometry& g) {
  return g.kernel_h * g.kernel_w > 1 &&
         batch_chunks(g) >= (omp_in_parallel() ? 1 : omp_get_max_threads());
}

bool use_direct_forward(const Conv2dGeometry& g) {
  return direct_candidate(g) && direct_conv_applies(g) &&
         direct_conv_scratch_floats(direct_forward_plan(g)) <= kMaxDirectScratchFloats;
}

bool use_direct_backward_data(const Conv2dGeometry& g) {
  return direct_candidate(g) && direct_backward_data_applies(g) &&
         direct_conv_scratch_floats(direct_backward_data_plan(g)) <= kMaxDirectScratchFloats;
}

bool use_direct_strided_backward_data(const Conv2dGeometry& g) {
  return direct_candidate(g) && direct_strided_backward_data_applies(g) &&
         direct_strided_scratch_floats(direct_strided_backward_data_plan(g)) <=
             kMaxDirectScratchFloats;
}

// Below 8x8 outputs the direct weight gradient's padded planes are mostly padding; the small-image
// GEMM is 1.1x faster (512 channels at 4x4, batch 32, 1 thread).
constexpr int64_t kMinDirectGradPixels = 64;

bool use_direct_weight_grad(const Conv2dGeometry& g) {
  return direct_candidate(g) && direct_weight_grad_applies(g) &&
         !(small_image_gemms(g) && g.out_h() * g.out_w() < kMinDirectGradPixels) &&
         direct_weight_grad_scratch_floats(direct_forward_plan(g)) <= kMaxDirectScratchFloats;
}

// Scratch of one batch chunk in conv2d_backward_weight_cpu.
size_t weight_grad_chunk_floats(const Conv2dGeometry& g, const ConvDims& d) {
  return use_direct_weight_grad(g) ? direct_weight_grad_scratch_floats(direct_forward_plan(g))
                                   : column_floats(g, d);
}

// Runs body(chunk, first_sample, end_sample) for every batch chunk. Several chunks run in parallel, each
// GEMM single-threaded; a single chunk (batch smaller than two) runs here and its GEMMs split over the
// threads instead (sgemm_rowmajor_parallel does whichever applies).
template <class Body>
void for_each_batch_chunk(const Conv2dGeometry& g, int64_t chunks, const Body& body) {
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

std::string describe(const Conv2dGeometry& g) {
  std::ostringstream s;
  s << "input [N, C, H, W] = [" << g.batch << ", " << g.in_channels << ", " << g.in_h << ", " << g.in_w
    << "], weight [O, C/groups, KH, KW] = [" << g.out_channels << ", "
    << (g.groups > 0 ? std::to_string(g.in_channels / g.groups) : std::string("?")) << ", " << g.kernel_h
    << ", " << g.kernel_w << "], stride (" << g.stride_h << ", " << g.stride_w << "), padding ("
    << g.pad_h << ", " << g.pad_w << "), dilation (" << g.dilation_h << ", " << g.dilation_w
    << "), groups " << g.groups;
  return s.str();
}

}  // namespace

int64_t Conv2dGeometry::out_h() const {
  return conv_out_size(in_h, kernel_h, stride_h, pad_h, dilation_h);
}

int64_t Conv2dGeometry::out_w() const {
  return conv_out_size(in_w, kernel_w, stride_w, pad_w, dilation_w);
}

void validate_conv2d(const Conv2dGeometry& g, const std::string& where) {
  auto fail = [&](const std::string& problem) {
    throw ShapeError(where + ": invalid conv2d geometry: " + problem + " (" + describe(g) + ")");
  };
  if (g.batch <= 0 || g.in_channels <= 0 || g.in_h <= 0 || g.in_w <= 0)
    fail("input sizes must be positive");
  if (g.out_channels <= 0 || g.kernel_h <= 0 || g.kernel_w <= 0)
    fail("output channels and kernel sizes must be positive");
  if (g.stride_h <= 0 || g.stride_w <= 0) fail("stride must be positive");
  if (g.dilation_h <= 0 || g.dilation_w <= 0) fail("dilation must be positive");
  if (g.pad_h < 0 || g.pad_w < 0) fail("padding must not be negative");
  if (g.groups <= 0) fail("groups must be positive");
  if (g.in_channels % g.groups != 0)
    fail("in_channels " + std::to_string(g.in_channels) + " is not divisible by groups " +
         std::to_string(g.groups));
  if (g.out_channels % g.groups != 0)
    fail("out_channels " + std::to_string(g.out_channels) + " is not divisible by groups " +
         std::to_string(g.groups));
  if (g.out_h() <= 0 || g.out_w() <= 0)
    fail("dilated kernel " + std::to_string(g.dilation_h * (g.kernel_h - 1) + 1) + "x" +
         std::to_string(g.dilation_w * (g.kernel_w - 1) + 1) + " is larger than padded input " +
         std::to_string(g.in_h + 2 * g.pad_h) + "x" + std::to_string(g.in_w + 2 * g.pad_w) +
         ", output would be " + std::to_string(g.out_h()) + "x" + std::to_string(g.out_w()));
}

size_t conv2d_workspace_floats(const Conv2dGeometry& g) {
  const ConvDims d = dims_of(g);
  const int64_t chunks = batch_chunks(g);
  const size_t columns = chunks * column_floats(g, d);
  auto direct_conv_floats = [&](const DirectConvPlan& p) {
    return direct_packed_weight_floats(p) + chunks * direct_conv_scratch_floats(p);
  };
  const size_t forward = use_direct_forward(g) ? direct_conv_floats(direct_forward_plan(g)) : columns;
  size_t backward_data = columns;
  if (use_direct_backward_data(g)) {
    backward_data = direct_conv_floats(direct_backward_data_plan(g));
  } else if (use_direct_strided_backward_data(g)) {
    const std::vector<DirectDataPhase> phases = direct_strided_backward_data_plan(g);
    backward_data = direct_strided_packed_weight_floats(phases) +
                    chunks * direct_strided_scratch_floats(phases);
  }
  const size_t backward_weight =
      chunks * weight_grad_chunk_floats(g, d) + (chunks - 1) * partial_gradient_floats(g, d);
  return std::max({forward, backward_data, backward_weight});
}

namespace {

// Runs a direct plan over the batch: packs the weights once into the front of the workspace, then each
// chunk convolves its samples with its own scratch.
void direct_conv_batch(const Conv2dGeometry& g, const DirectConvPlan& p, const float* in,
                       const float* w, bool transpose_flip, const float* bias, float* out,
                       float* workspace) {
  pack_direct_weights(p, w, transpose_flip, workspace);
  float* scratch = workspace + direct_packed_weight_floats(p);
  const size_t scratch_floats = direct_conv_scratch_floats(p);
  const int64_t in_sample = p.in_channels * p.in_h * p.in_w;
  const int64_t out_sample = p.out_channels * p.out_h * p.out_w;
  for_each_batch_chunk(g, batch_chunks(g), [&](int64_t chunk, int64_t n_begin, int64_t n_end) {
    for (int64_t n = n_begin; n < n_end; ++n)
      direct_conv_sample(p, in + n * in_sample, workspace, bias, out + n * out_sample,
                         scratch + chunk * scratch_floats);
  });
}

// The strided backward-data counterpart: packs each phase's weights, then each chunk computes dx of
// its samples phase by phase.
void direct_strided_backward_data_batch(const Conv2dGeometry& g, const float* dy, const float* w,
                                        float* dx, float* workspace) {
  const std::vector<DirectDataPhase> phases = direct_strided_backward_data_plan(g);
  pack_direct_strided_weights(g, phases, w, workspace);
  float* scratch = workspace + direct_strided_packed_weight_floats(phases);
  const size_t scratch_floats = direct_strided_scratch_floats(phases);
  const int64_t dy_sample = g.out_channels * g.out_h() * g.out_w(),
                dx_sample = g.in_channels * g.in_h * g.in_w;
  for_each_batch_chunk(g, batch_chunks(g), [&](int64_t chunk, int64_t n_begin, int64_t n_end) {
    for (int64_t n = n_begin; n < n_end; ++n)
      direct_strided_backward_data_sample(g, phases, dy + n * dy_sample, workspace,
                                          dx + n * dx_sample, scratch + chunk * scratch_floats);
  });
}

}  // namespace

void conv2d_forward_cpu(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                        float* y, float* workspace) {
  if (use_direct_forward(g)) return direct_conv_batch(g, direct_forward_plan(g), x, w, false, bias, y, workspace);
  const ConvDims d = dims_of(g);
  const int64_t chunks = batch_chunks(g);
  const int64_t x_sample = g.in_channels * d.in_plane, y_sample = g.out_channels * d.out_plane;
  for_each_batch_chunk(g, chunks, [&](int64_t chunk, int64_t n_begin, int64_t n_end) {
    float* col = workspace + chunk * column_floats(g, d);
    for_each_sample_group(d, n_begin, n_end, [&](int64_t n, int64_t samples) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* x_group = x + n * x_sample + grp * d.group_in * d.in_plane;
        const float* w_group = w + grp * d.group_out * d.patch;  // [O/g, patch]
        float* y_group = y + n * y_sample + grp * d.group_out * d.out_plane;
        const float* b_group = bias ? bias + grp * d.group_out : nullptr;
        if (samples > 1) {  // stage[O/g, samples*OH*OW] = w_group * col[patch, samples*OH*OW]
          const int64_t width = samples * d.out_plane;
          float* stage = col + d.patch * width;
          im2col_samples(g, d, x_group, x_sample, samples, col);
          sgemm_rowmajor_parallel(false, false, d.group_out, width, d.patch, 1.0f, w_group, d.patch,
                                  col, width, 0.0f, stage, width);
          scatter_planes(stage, y_sample, d.group_out, d.out_plane, samples, b_group, y_group);
          continue;
        }
        if (bias) {
          for (int64_t o = 0; o < d.group_out; ++o)
            std::fill_n(y_group + o * d.out_plane, d.out_plane, b_group[o]);
        }
        const float beta = bias ? 1.0f : 0.0f;
        if (columns_are_input(g)) {  // y_group[O/g, H*W] (+)= w_group * x_group[C/g, H*W]
          sgemm_rowmajor_parallel(false, false, d.group_out, d.out_plane, d.patch, 1.0f, w_group,
                                  d.patch, x_group, d.out_plane, beta, y_group, d.out_plane);
          continue;
        }
        for_each_band(d, [&](OutputRows rows) {
          // y_group[O/g, band] (+)= w_group[O/g, patch] * col[patch, band]
          const int64_t band = rows.count() * d.out_w;
          im2col_cpu(g, x_group, d.group_in, rows, col);
          sgemm_rowmajor_parallel(false, false, d.group_out, band, d.patch, 1.0f, w_group, d.patch, col,
                                  band, beta, y_group + rows.begin * d.out_w, d.out_plane);
        });
      }
    });
  });
}

void conv2d_backward_data_cpu(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                              float* workspace) {
  if (use_direct_backward_data(g))
    return direct_conv_batch(g, direct_backward_data_plan(g), dy, w, true, nullptr, dx, workspace);
  if (use_direct_strided_backward_data(g))
    return direct_strided_backward_data_batch(g, dy, w, dx, workspace);
  const ConvDims d = dims_of(g);
  const int64_t chunks = batch_chunks(g);
  const int64_t dx_sample = g.in_channels * d.in_plane, dy_sample = g.out_channels * d.out_plane;
  for_each_batch_chunk(g, chunks, [&](int64_t chunk, int64_t n_begin, int64_t n_end) {
    float* col = workspace + chunk * column_floats(g, d);
    for_each_sample_group(d, n_begin, n_end, [&](int64_t n, int64_t samples) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* dy_group = dy + n * dy_sample + grp * d.group_out * d.out_plane;
        const float* w_group = w + grp * d.group_out * d.patch;  // [O/g, patch]
        float* dx_group = dx + n * dx_sample + grp * d.group_in * d.in_plane;
        if (columns_are_input(g)) {  // dx_group[C/g, H*W] = w_group^T * dy_group[O/g, H*W]
          sgemm_rowmajor_parallel(true, false, d.patch, d.out_plane, d.group_out, 1.0f, w_group, d.patch,
                                  dy_group, d.out_plane, 0.0f, dx_group, d.out_plane);
          continue;
        }
        for (int64_t s = 0; s < samples; ++s)
          std::memset(dx_group + s * dx_sample, 0, sizeof(float) * d.group_in * d.in_plane);
        if (samples > 1) {  // col[patch, samples*OH*OW] = w_group^T * dy gathered side by side
          const int64_t width = samples * d.out_plane;
          float* stage = col + d.patch * width;
          gather_planes(dy_group, dy_sample, d.group_out, d.out_plane, samples, stage);
          sgemm_rowmajor_parallel(true, false, d.patch, width, d.group_out, 1.0f, w_group, d.patch,
                                  stage, width, 0.0f, col, width);
          col2im_add_samples(g, d, col, samples, dx_group, dx_sample);
          continue;
        }
        for_each_band(d, [&](OutputRows rows) {
          // col[patch, band] = w_group^T[patch, O/g] * dy_group[O/g, band], then scattered into dx
          const int64_t band = rows.count() * d.out_w;
          sgemm_rowmajor_parallel(true, false, d.patch, band, d.group_out, 1.0f, w_group, d.patch,
                                  dy_group + rows.begin * d.out_w, d.out_plane, 0.0f, col, band);
          col2im_add_cpu(g, col, d.group_in, rows, dx_group);
        });
      }
    });
  });
}

void conv2d_backward_weight_cpu(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                float* db, float* workspace, bool accumulate) {
  const ConvDims d = dims_of(g);
  const int64_t chunks = batch_chunks(g);
  const bool direct = use_direct_weight_grad(g);
  const DirectConvPlan plan = direct ? direct_forward_plan(g) : DirectConvPlan{};
  const size_t chunk_floats = weight_grad_chunk_floats(g, d);
  float* partials = workspace + chunks * chunk_floats;
  const size_t partial_floats = partial_gradient_floats(g, d);
  const int64_t x_sample = g.in_channels * d.in_plane, dy_sample = g.out_channels * d.out_plane;

  for_each_batch_chunk(g, chunks, [&](int64_t chunk, int64_t n_begin, int64_t n_end) {
    float* scratch = workspace + chunk * chunk_floats;
    // The first chunk sums straight into dw/db; the others into their own partials, added below.
    float* dw_sum = chunk == 0 ? dw : partials + (chunk - 1) * partial_floats;
    float* db_sum = chunk == 0 || !db ? db : partials + (chunk - 1) * partial_floats + d.weight_floats;
    if (chunk != 0 || !accumulate) {
      std::memset(dw_sum, 0, sizeof(float) * d.weight_floats);
      if (db_sum) std::memset(db_sum, 0, sizeof(float) * g.out_channels);
    }
    // db sums each group of samples while its dy is in cache for the dW product.
    auto add_bias_gradient = [&](int64_t n, int64_t samples) {
      if (db_sum)
        bias_gradient_cpu(samples, g.out_channels, d.out_plane, dy + n * dy_sample, db_sum, true);
    };
    if (direct) {
      for (int64_t n = n_begin; n < n_end; n += plan.grad_samples) {
        const int64_t samples = std::min(plan.grad_samples, n_end - n);
        add_bias_gradient(n, samples);
        direct_weight_grad_samples(plan, x + n * x_sample, dy + n * dy_sample, samples, dw_sum,
                                   scratch);
      }
      return;
    }
    for_each_sample_group(d, n_begin, n_end, [&](int64_t n, int64_t samples) {
      add_bias_gradient(n, samples);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* x_group = x + n * x_sample + grp * d.group_in * d.in_plane;
        const float* dy_group = dy + n * dy_sample + grp * d.group_out * d.out_plane;
        float* dw_group = dw_sum + grp * d.group_out * d.patch;  // [O/g, patch]
        if (columns_are_input(g)) {  // dw_group += dy_group[O/g, H*W] * x_group^T[H*W, C/g]
          sgemm_rowmajor_parallel(false, true, d.group_out, d.patch, d.out_plane, 1.0f, dy_group,
                                  d.out_plane, x_group, d.out_plane, 1.0f, dw_group, d.patch);
          continue;
        }
        if (samples > 1) {  // dw_group += dy gathered side by side * col^T[samples*OH*OW, patch]
          const int64_t width = samples * d.out_plane;
          float* stage = scratch + d.patch * width;
          gather_planes(dy_group, dy_sample, d.group_out, d.out_plane, samples, stage);
          im2col_samples(g, d, x_group, x_sample, samples, scratch);
          sgemm_rowmajor_parallel(false, true, d.group_out, d.patch, width, 1.0f, stage, width,
                                  scratch, width, 1.0f, dw_group, d.patch);
          continue;
        }
        for_each_band(d, [&](OutputRows rows) {
          // dw_group[O/g, patch] += dy_group[O/g, band] * col^T[band, patch]
          const int64_t band = rows.count() * d.out_w;
          im2col_cpu(g, x_group, d.group_in, rows, scratch);
          sgemm_rowmajor_parallel(false, true, d.group_out, d.patch, band, 1.0f,
                                  dy_group + rows.begin * d.out_w, d.out_plane, scratch, band, 1.0f,
                                  dw_group, d.patch);
        });
      }
    });
  });

  // Fixed-order reduction: dw = ((dw + partial_1) + partial_2) + ... whichever thread did what.
  if (chunks > 1) {
    const int64_t reduced = d.weight_floats + (db ? g.out_channels : 0);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
    for (int64_t i = 0; i < reduced; ++i) {
      float* target = i < d.weight_floats ? dw + i : db + (i - d.weight_floats);
      float sum = *target;
      for (int64_t chunk = 1; chunk < chunks; ++chunk) sum += partials[(chunk - 1) * partial_floats + i];
      *target = sum;
    }
  }
}

int64_t conv2d_forward_flops(const Conv2dGeometry& g) {
  const ConvDims d = dims_of(g);
  return 2 * g.batch * g.out_channels * d.out_plane * d.patch;
}

}  // namespace frugal
