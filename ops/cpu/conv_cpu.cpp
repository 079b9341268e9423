#include "ops/cpu/conv_cpu.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/cpu/bias_grad.h"
#include "ops/cpu/conv_columns.h"
#include "ops/cpu/conv_direct.h"
#include "ops/cpu/conv_winograd.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/im2col.h"

namespace frugal {

using namespace conv_detail;

namespace {

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

// The plan a direct forward or backward-data pass runs: the dense grid where it pays and its scratch
// stays within the bound above, else the wide grid that decided the kernel applies (same results).
DirectConvPlan compute_plan(const DirectConvPlan& wide) {
  const DirectConvPlan dense = dense_grid_plan(wide);
  return direct_conv_scratch_floats(dense) <= kMaxDirectScratchFloats ? dense : wide;
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

}  // namespace

namespace {

Conv2dGeometry without_winograd(Conv2dGeometry g) {
  g.winograd = false;
  return g;
}

}  // namespace

// The workspace sizes hold both the Winograd kernels and the others, so turning Winograd off for a conv
// (Conv2dGeometry::winograd) never leaves a planned buffer too small.
size_t conv2d_forward_workspace_floats(const Conv2dGeometry& g) {
  if (winograd_applies(g))
    return std::max(winograd_workspace_floats(g), conv2d_forward_workspace_floats(without_winograd(g)));
  const ConvDims d = dims_of(g);
  if (use_direct_forward(g)) {
    const DirectConvPlan p = compute_plan(direct_forward_plan(g));
    return direct_packed_weight_floats(p) + batch_chunks(g) * direct_conv_scratch_floats(p);
  }
  return d.chunks * column_floats(g, d);
}

size_t conv2d_backward_workspace_floats(const Conv2dGeometry& g) {
  if (winograd_applies(g))
    return std::max({winograd_workspace_floats(g), winograd_weight_grad_workspace_floats(g),
                     conv2d_backward_workspace_floats(without_winograd(g))});
  const ConvDims d = dims_of(g);
  const int64_t chunks = batch_chunks(g);  // the direct kernels'
  size_t backward_data = d.chunks * column_floats(g, d);
  if (use_direct_backward_data(g)) {
    const DirectConvPlan p = compute_plan(direct_backward_data_plan(g));
    backward_data = direct_packed_weight_floats(p) + chunks * direct_conv_scratch_floats(p);
  } else if (use_direct_strided_backward_data(g)) {
    const std::vector<DirectDataPhase> phases = direct_strided_backward_data_plan(g);
    backward_data = direct_strided_packed_weight_floats(phases) +
                    chunks * direct_strided_scratch_floats(phases);
  }
  const int64_t weight_chunks = use_direct_weight_grad(g) ? chunks : d.chunks;
  const size_t backward_weight =
      weight_chunks * weight_grad_chunk_floats(g, d) + (weight_chunks - 1) * partial_gradient_floats(g, d);
  return std::max(backward_data, backward_weight);
}

size_t conv2d_workspace_floats(const Conv2dGeometry& g) {
  return std::max(conv2d_forward_workspace_floats(g), conv2d_backward_workspace_floats(g));
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
  if (winograd_applies(g)) return winograd_forward_cpu(g, x, w, bias, y, workspace);
  if (use_direct_forward(g)) return direct_conv_batch(g, compute_plan(direct_forward_plan(g)), x, w, false, bias, y, workspace);
  const ConvDims d = dims_of(g);
  const int64_t chunks = d.chunks;
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
  if (winograd_applies(g)) return winograd_backward_data_cpu(g, dy, w, dx, workspace);
  if (use_direct_backward_data(g))
    return direct_conv_batch(g, compute_plan(direct_backward_data_plan(g)), dy, w, true, nullptr, dx, workspace);
  if (use_direct_strided_backward_data(g))
    return direct_strided_backward_data_batch(g, dy, w, dx, workspace);
  const ConvDims d = dims_of(g);
  const int64_t chunks = d.chunks;
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
  if (winograd_weight_grad_applies(g)) {
    winograd_backward_weight_cpu(g, x, dy, dw, workspace, accumulate);
    if (db) bias_gradient_cpu(g.batch, g.out_channels, g.out_h() * g.out_w(), dy, db, accumulate);
    return;
  }
  const ConvDims d = dims_of(g);
  const bool direct = use_direct_weight_grad(g);
  const int64_t chunks = direct ? batch_chunks(g) : d.chunks;
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

}  // namespace frugal
