#include "ops/cpu/randomized_trace_cpu.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/im2col.h"

namespace frugal {
namespace {

// Probes handled together in the backward: bounds the regenerated probes and their im2col columns.
constexpr int64_t kProbeBlock = 16;
// Probe entries generated at once by the sketch kernels (per probe block of r rows).
constexpr int64_t kSketchScratchFloats = int64_t{1} << 14;
// Below this much work (floats touched or multiply-adds) a fork/join costs more than it saves, and on
// busy cores far more. The split into chunks stays the same either way, so results do not change.
constexpr int64_t kMinParallelWork = int64_t{1} << 18;

int64_t probe_block(const TraceProbes& p) { return std::min(p.count, kProbeBlock); }

int64_t threads_for(int64_t items) {
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::max<int64_t>(1, std::min(items, threads));
}

struct ConvSizes {
  int64_t taps, in_plane, out_plane, out_h;
};
ConvSizes sizes_of(const Conv2dGeometry& g) {
  return {g.kernel_h * g.kernel_w, g.in_h * g.in_w, g.out_h() * g.out_w(), g.out_h()};
}

// out[rows, r] = x[rows, D] z^T[D, r], generating z a block of entries at a time into scratch.
void sketch_rows(const ProbeSet& probes, int64_t rows, const float* x, float* out, float* scratch) {
  const int64_t r = probes.count, dim = probes.dim;
  const int64_t block = std::max<int64_t>(1, kSketchScratchFloats / r);
  for (int64_t m0 = 0; m0 < dim; m0 += block) {
    const int64_t width = std::min(block, dim - m0);
    fill_probes(probes, 0, r, m0, m0 + width, scratch, width);
    sgemm_rowmajor_parallel(false, true, rows, r, width, 1.0f, x + m0, dim, scratch, width, m0 == 0 ? 0.0f : 1.0f,
                            out, r);
  }
}

void check_conv(const Conv2dGeometry& g) {
  FRUGAL_CHECK(g.groups == 1, InternalError, "randomized trace: grouped convolutions are not supported");
}

// Independent probes over the H*W pixels. dw[o,c,t] = (1/r) sum_{b,p} V[b,c,p] A_b[p,t,o] with
// A_b[p,t,o] = sum_n col(z_p)[t,n] dy[b,o,n]: col(z_p) is im2col of probe image p, so A_b holds the
// probes shifted by each tap exactly as the conv shifts its input, zeros where the tap falls into padding.
void conv_independent_weight_grad(const Conv2dGeometry& g, const TraceProbes& tp, const float* sketch,
                                  const float* dy, float* dw, float* workspace) {
  const ConvSizes s = sizes_of(g);
  const ProbeSet probes = conv_probe_set(g, tp);
  const int64_t r = tp.count, pb = probe_block(tp), C = g.in_channels, O = g.out_channels, T = s.taps;
  const int64_t chunks = threads_for(g.batch);
  float* z = workspace;                        // [pb, H*W]
  float* cols = z + pb * s.in_plane;           // [pb * T, OH*OW]
  float* per_thread = cols + pb * T * s.out_plane;
  const int64_t thread_floats = pb * T * O + C * T * O;  // A_b [pb*T, O] and partial W2 [C, T*O]
  std::fill(per_thread, per_thread + chunks * thread_floats, 0.0f);
  Conv2dGeometry one = g;
  one.in_channels = 1;
  BlasSingleThreadScope single_threaded_blas;
  for (int64_t p0 = 0; p0 < r; p0 += pb) {
    const int64_t np = std::min(pb, r - p0);
    fill_probes(probes, p0, p0 + np, 0, s.in_plane, z, s.in_plane);
#pragma omp parallel for schedule(static) if (np * T * s.out_plane >= kMinParallelWork)
    for (int64_t q = 0; q < np; ++q)
      im2col_cpu(one, z + q * s.in_plane, 1, OutputRows{0, s.out_h}, cols + q * T * s.out_plane);
    const bool parallel = g.batch * np * T * O * s.out_plane >= kMinParallelWork;
#pragma omp parallel for schedule(static) num_threads(chunks) if (parallel)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      float* a = per_thread + chunk * thread_floats;
      float* w2 = a + pb * T * O;
      const int64_t b0 = g.batch * chunk / chunks, b1 = g.batch * (chunk + 1) / chunks;
      for (int64_t b = b0; b < b1; ++b) {
        sgemm_rowmajor(false, true, np * T, O, s.out_plane, 1.0f, cols, s.out_plane, dy + b * O * s.out_plane,
                       s.out_plane, 0.0f, a, O);
        sgemm_rowmajor(false, false, C, T * O, np, 1.0f, sketch + b * C * r + p0, r, a, T * O, 1.0f, w2, T * O);
      }
    }
  }
  // dw[o][c][t] = (1/r) * sum over chunks, in chunk order, of W2[c][t][o].
  const float inv_r = 1.0f / static_cast<float>(r);
#pragma omp parallel for schedule(static) if (chunks * O * C * T >= kMinParallelWork)
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t) {
        float sum = 0.0f;
        for (int64_t chunk = 0; chunk < chunks; ++chunk)
          sum += per_thread[chunk * thread_floats + pb * T * O + (c * T + t) * O + o];
        dw[(o * C + c) * T + t] = sum * inv_r;
      }
}

// Probes over whole samples. dw[o, (c,t)] = (1/r) sum_p L_p[o, n] col(z_p)[(c,t), n] with
// L_p[o, n] = sum_b V[b, p] dy[b, o, n].
void conv_sample_weight_grad(const Conv2dGeometry& g, const TraceProbes& tp, const float* sketch,
                             const float* dy, float* dw, float* workspace) {
  const ConvSizes s = sizes_of(g);
  const ProbeSet probes = conv_probe_set(g, tp);
  const int64_t r = tp.count, pb = probe_block(tp), C = g.in_channels, O = g.out_channels, T = s.taps;
  float* l = workspace;                  // [pb, O * OH*OW]
  float* z = l + pb * O * s.out_plane;   // [C * H*W]
  float* col = z + C * s.in_plane;       // [C * T, OH*OW]
  const float inv_r = 1.0f / static_cast<float>(r);
  std::fill(dw, dw + O * C * T, 0.0f);
  for (int64_t p0 = 0; p0 < r; p0 += pb) {
    const int64_t np = std::min(pb, r - p0);
    sgemm_rowmajor_parallel(true, false, np, O * s.out_plane, g.batch, 1.0f, sketch + p0, r, dy, O * s.out_plane,
                            0.0f, l, O * s.out_plane);
    for (int64_t q = 0; q < np; ++q) {
      const int64_t p = p0 + q;
      const float* lp = l + q * O * s.out_plane;
      fill_probes(probes, p, p + 1, 0, C * s.in_plane, z, C * s.in_plane);
      if (!probes.orthogonal()) {
#pragma omp parallel for schedule(static) if (C * T * s.out_plane >= kMinParallelWork)
        for (int64_t c = 0; c < C; ++c)
          im2col_cpu(g, z + c * s.in_plane, 1, OutputRows{0, s.out_h}, col + c * T * s.out_plane);
        sgemm_rowmajor_parallel(false, true, O, C * T, s.out_plane, inv_r, lp, s.out_plane, col, s.out_plane, 1.0f,
                                dw, C * T);
        continue;
      }
      // Orthogonal probes are zero outside the channels whose subset holds p.
      for (int64_t c = 0; c < C; ++c) {
        if (!probes.uses(p, c)) continue;
        im2col_cpu(g, z + c * s.in_plane, 1, OutputRows{0, s.out_h}, col);
        sgemm_rowmajor_parallel(false, true, O, T, s.out_plane, inv_r, lp, s.out_plane, col, s.out_plane, 1.0f,
                                dw + c * T, C * T);
      }
    }
  }
}

}  // namespace

size_t trace_sketch_scratch_floats(const TraceProbes& probes) {
  return static_cast<size_t>(std::max<int64_t>(kSketchScratchFloats, probes.count));
}

size_t conv_trace_workspace_floats(const Conv2dGeometry& g, const TraceProbes& p) {
  const ConvSizes s = sizes_of(g);
  const int64_t pb = probe_block(p), C = g.in_channels, O = g.out_channels, T = s.taps;
  if (p.mode == ProbeMode::Independent)
    return static_cast<size_t>(pb * s.in_plane + pb * T * s.out_plane + threads_for(g.batch) * (pb * T * O + C * T * O));
  return static_cast<size_t>(pb * O * s.out_plane + C * s.in_plane + C * T * s.out_plane);
}

void conv_trace_sketch_cpu(const Conv2dGeometry& g, const TraceProbes& p, const float* x, float* sketch,
                           float* scratch) {
  check_conv(g);
  const ProbeSet probes = conv_probe_set(g, p);
  // independent: [N*C, H*W] x z^T; gaussian/orthogonal: [N, C*H*W] x z^T.
  const int64_t rows = p.mode == ProbeMode::Independent ? g.batch * g.in_channels : g.batch;
  sketch_rows(probes, rows, x, sketch, scratch);
}

void conv_trace_weight_grad_cpu(const Conv2dGeometry& g, const TraceProbes& p, const float* sketch,
                                const float* dy, float* dw, float* workspace) {
  check_conv(g);
  if (p.mode == ProbeMode::Independent)
    conv_independent_weight_grad(g, p, sketch, dy, dw, workspace);
  else
    conv_sample_weight_grad(g, p, sketch, dy, dw, workspace);
}

size_t linear_trace_workspace_floats(int64_t n, int64_t in, int64_t out, const TraceProbes& p) {
  if (p.mode == ProbeMode::Independent) return static_cast<size_t>(p.count * n + p.count * out);
  return static_cast<size_t>(p.count * in + out * p.count);
}

void linear_trace_sketch_cpu(int64_t n, int64_t in, const TraceProbes& p, const float* x, float* sketch,
                             float* scratch) {
  const ProbeSet probes = linear_probe_set(n, in, p);
  if (p.mode != ProbeMode::Independent) {  // V[N, r] = x z^T over the features
    sketch_rows(probes, n, x, sketch, scratch);
    return;
  }
  // Token axis: V[r, in] = S^T x with S[N, r] the probes over the batch, a block of samples at a time.
  const int64_t r = p.count;
  const int64_t block = std::max<int64_t>(1, kSketchScratchFloats / r);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t width = std::min(block, n - b0);
    fill_probes(probes, 0, r, b0, b0 + width, scratch, width);
    sgemm_rowmajor_parallel(false, false, r, in, width, 1.0f, scratch, width, x + b0 * in, in, b0 == 0 ? 0.0f : 1.0f,
                            sketch, in);
  }
}

void linear_trace_weight_grad_cpu(int64_t n, int64_t in, int64_t out, const TraceProbes& p, const float* sketch,
                                  const float* dy, float* dw, float* workspace) {
  const ProbeSet probes = linear_probe_set(n, in, p);
  const int64_t r = p.count;
  const float inv_r = 1.0f / static_cast<float>(r);
  if (p.mode == ProbeMode::Independent) {
    // U[r, out] = S^T dy; dw = (1/r) U^T V.
    float* s = workspace;      // [r, N]
    float* u = s + r * n;      // [r, out]
    fill_probes(probes, 0, r, 0, n, s, n);
    sgemm_rowmajor_parallel(false, false, r, out, n, 1.0f, s, n, dy, out, 0.0f, u, out);
    sgemm_rowmajor_parallel(true, false, out, in, r, inv_r, u, out, sketch, in, 0.0f, dw, in);
    return;
  }
  // P[out, r] = dy^T V; dw = (1/r) P z.
  float* z = workspace;        // [r, in]
  float* proj = z + r * in;    // [out, r]
  fill_probes(probes, 0, r, 0, in, z, in);
  sgemm_rowmajor_parallel(true, false, out, r, n, 1.0f, dy, out, sketch, r, 0.0f, proj, r);
  sgemm_rowmajor_parallel(false, false, out, in, r, inv_r, proj, r, z, in, 0.0f, dw, in);
}

}  // namespace frugal
