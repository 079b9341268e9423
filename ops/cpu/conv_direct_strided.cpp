// Backward-data of strided convs, phase by phase of dx (conv_direct.h, DirectDataPhase), on the
// direct kernels' forward tiles.
#include <algorithm>
#include <utility>

#include "ops/cpu/conv_direct.h"  // declares this file's functions
#include "ops/cpu/conv_direct_parts.h"

namespace frugal {

using namespace direct_detail;

bool direct_strided_backward_data_applies(const Conv2dGeometry& g) {
  if (g.stride_h * g.stride_w == 1 || g.groups != 1 || g.in_channels < kOutTile) return false;
  int64_t wide = 0;
  for (const DirectDataPhase& phase : direct_strided_backward_data_plan(g))
    wide += phase.plan.wide_pixels;
  return wide <= kMaxWideGridOverhead * g.in_h * g.in_w;
}

std::vector<DirectDataPhase> direct_strided_backward_data_plan(const Conv2dGeometry& g) {
  const int64_t sh = g.stride_h, sw = g.stride_w;
  const int64_t top = tap_phase(g.kernel_h - 1, g.dilation_h, sh).shift;   // largest m
  const int64_t left = tap_phase(g.kernel_w - 1, g.dilation_w, sw).shift;  // largest n
  DirectConvPlan shared{};  // dy, padded by (top, left), in one plane per channel
  shared.in_channels = g.out_channels;
  shared.out_channels = g.in_channels;
  shared.in_h = g.out_h();
  shared.in_w = g.out_w();
  shared.pad_h = top;
  shared.pad_w = left;
  shared.stride_h = shared.stride_w = 1;
  shared.phases = {{0, 0}};
  shared.out_rows = round_up(g.in_channels, kOutTile);
  shared.grad_samples = 1;
  // Phase rows (a) and columns (b) inside dx; ceil((H + pad) / s) bounds them.
  auto rows = [&](int64_t a) {
    return inside_input(g.in_h, g.pad_h, sh, a, (g.in_h + g.pad_h + sh - 1) / sh);
  };
  auto cols = [&](int64_t b) {
    return inside_input(g.in_w, g.pad_w, sw, b, (g.in_w + g.pad_w + sw - 1) / sw);
  };
  int64_t last_row = 0, last_col = 0;
  for (int64_t a = 0; a < sh; ++a) last_row = std::max(last_row, rows(a).end);
  for (int64_t b = 0; b < sw; ++b) last_col = std::max(last_col, cols(b).end);
  shared.phase_h = top + std::max(shared.in_h, last_row);
  shared.padded_w = left + std::max(shared.in_w, last_col);

  std::vector<DirectDataPhase> phases;
  int64_t plane = shared.phase_h * shared.padded_w;  // floats every tile may read, grown below
  for (int64_t a = 0; a < sh; ++a)
    for (int64_t b = 0; b < sw; ++b) {
      DirectDataPhase ph{shared, a, b, rows(a).begin, cols(b).begin, {}};
      DirectConvPlan& p = ph.plan;
      p.out_h = rows(a).end - ph.first_row;
      p.out_w = cols(b).end - ph.first_col;
      p.wide_pixels = round_up(p.out_h * p.padded_w, kLanes);
      int64_t max_offset = 0;
      for (int64_t kh = 0; kh < g.kernel_h; ++kh)
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const TapPhase r = tap_phase(kh, g.dilation_h, sh), c = tap_phase(kw, g.dilation_w, sw);
          if (r.phase != a || c.phase != b) continue;
          ph.taps.push_back(kh * g.kernel_w + kw);
          p.tap_offsets.push_back((ph.first_row + top - r.shift) * p.padded_w + ph.first_col +
                                  left - c.shift);
          max_offset = std::max(max_offset, p.tap_offsets.back());
        }
      p.taps = static_cast<int64_t>(ph.taps.size());
      plane = std::max(plane, p.wide_pixels + max_offset);
      phases.push_back(std::move(ph));
    }
  for (DirectDataPhase& ph : phases)
    ph.plan.phase_stride = ph.plan.plane_stride = round_up(plane, kLanes);
  return phases;
}

size_t direct_strided_packed_weight_floats(const std::vector<DirectDataPhase>& phases) {
  size_t floats = 0;
  for (const DirectDataPhase& ph : phases) floats += direct_packed_weight_floats(ph.plan);
  return floats;
}

size_t direct_strided_scratch_floats(const std::vector<DirectDataPhase>& phases) {
  size_t floats = 0;
  for (const DirectDataPhase& ph : phases)
    floats = std::max(floats, direct_conv_scratch_floats(ph.plan));
  return floats;
}

void pack_direct_strided_weights(const Conv2dGeometry& g,
                                 const std::vector<DirectDataPhase>& phases, const float* w,
                                 float* packed) {
  const int64_t kernel_taps = g.kernel_h * g.kernel_w;
  for (const DirectDataPhase& ph : phases) {
    // The plan's output channel is w's input channel and vice versa.
    pack_weights(
        ph.plan,
        [&](int64_t c, int64_t o, int64_t t) {
          return w[(o * g.in_channels + c) * kernel_taps + ph.taps[t]];
        },
        packed);
    packed += direct_packed_weight_floats(ph.plan);
  }
}

void direct_strided_backward_data_sample(const Conv2dGeometry& g,
                                         const std::vector<DirectDataPhase>& phases,
                                         const float* dy, const float* packed, float* dx,
                                         float* scratch) {
  const DirectConvPlan& shared = phases.front().plan;
  float* dypad = scratch;
  float* wide = scratch + shared.in_channels * shared.plane_stride;
  pad_planes(shared, dy, dypad);
  for (const DirectDataPhase& ph : phases) {
    const DirectConvPlan& p = ph.plan;
    compute_wide(p, dypad, packed, wide);
    packed += direct_packed_weight_floats(p);
    // dx[c][s*i + a - pad][s*j + b - pad] for the phase's rows i and columns j inside dx.
    for (int64_t c = 0; c < g.in_channels; ++c)
      for (int64_t i = 0; i < p.out_h; ++i) {
        const float* src = wide + c * p.wide_pixels + i * p.padded_w;
        float* dst = dx +
                     (c * g.in_h + g.stride_h * (ph.first_row + i) + ph.row - g.pad_h) * g.in_w +
                     g.stride_w * ph.first_col + ph.col - g.pad_w;
        for (int64_t j = 0; j < p.out_w; ++j) dst[j * g.stride_w] = src[j];
      }
  }
}

}  // namespace frugal
