// CUDA kernels of randomized-trace weight gradients (contract: ops/kernels.h, reference and algebra:
// ops/cpu/randomized_trace_cpu.h). Probe entries are regenerated on the device from (key, probe, entry)
// by ops/probe_math.h, the same numbers as the CPU's; the products go through cuBLAS (FP32, no TF32). No
// atomics: every sum is a GEMM or a fixed loop, so results are the same bits run to run.
//
// Buffers, in floats (the *_workspace_bytes queries describe exactly these layouts):
//   sketch scratch    max(kSketchScratchFloats, r): probes of a block of entries at a time.
//   conv independent  cols [pb*T, OH*OW] | A [bc, pb*T, O] | Vt [C, bc*pb] | W2 [C, T*O]
//   conv sample       L [pb, O*OH*OW] | col [C*T, OH*OW]
//   linear            as the CPU's: probes [r, N or in] | the projection [r, out]
// with pb = min(r, 16) probes per block, T = KH*KW taps, and bc samples per chunk of A.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "ops/cuda/cublas_rowmajor.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/grid_stride.h"
#include "ops/cuda/mode_kernels_cuda.h"
#include "ops/probe_math.h"

namespace frugal::cuda {
namespace {

// Probes handled together in the conv backward, as on the CPU.
constexpr int64_t kProbeBlock = 16;
// Probe entries generated at once by the sketch kernels: 256 KiB a layer, kept across steps; larger than
// the CPU's so the GEMMs of a sketch are few and long.
constexpr int64_t kSketchScratchFloats = int64_t{1} << 16;
// Bound on A [bc, pb*T, O], the per-sample products of the independent conv estimator: samples are taken
// in chunks so the workspace stays a few MiB however large the batch.
constexpr int64_t kChunkFloats = int64_t{1} << 20;

int64_t probe_block(const TraceProbes& p) { return std::min(p.count, kProbeBlock); }

void check_conv(const Conv2dGeometry& g) {
  FRUGAL_CHECK(g.groups == 1, InternalError, "randomized trace: grouped convolutions are not supported");
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

// ---- Kernels ----

// out[q * ld + j] = z_{p0 + q}[i0 + j] for q < rows, j < width.
__global__ void fill_probes_kernel(probe::ProbeParams p, int64_t p0, int64_t rows, int64_t i0, int64_t width,
                                   float* out, int64_t ld) {
  for (int64_t e = grid_first(); e < rows * width; e += grid_stride()) {
    const int64_t q = e / width, j = e - q * width;
    out[q * ld + j] = probe::value(p, p0 + q, i0 + j);
  }
}

// cols[rows, out_plane]: the im2col columns of probe images (probe::probe_column).
__global__ void probe_columns_kernel(probe::ProbeParams p, probe::ConvTaps g, int64_t p0, int64_t channels,
                                     int64_t taps, int64_t rows, int64_t out_plane, float* cols) {
  for (int64_t e = grid_first(); e < rows * out_plane; e += grid_stride()) {
    const int64_t row = e / out_plane;
    cols[e] = probe::probe_column(p, g, p0, channels, taps, row, e - row * out_plane);
  }
}

// vt[c, bb * np + q] = V[b0 + bb, c, p0 + q] for the sketch V [N, C, r]: the probes of a block and the
// samples of a chunk side by side, so one GEMM sums over both.
__global__ void gather_sketch_kernel(const float* sketch, int64_t channels, int64_t r, int64_t b0, int64_t nb,
                                     int64_t p0, int64_t np, float* vt) {
  const int64_t width = nb * np;
  for (int64_t e = grid_first(); e < channels * width; e += grid_stride()) {
    const int64_t c = e / width, k = e - c * width, bb = k / np, q = k - bb * np;
    vt[e] = sketch[((b0 + bb) * channels + c) * r + p0 + q];
  }
}

// dw[o, c, t] = W2[c, t, o] / r.
__global__ void finish_independent_kernel(const float* w2, int64_t out_channels, int64_t channels, int64_t taps,
                                          float inv_r, float* dw) {
  for (int64_t e = grid_first(); e < out_channels * channels * taps; e += grid_stride()) {
    const int64_t o = e / (channels * taps), ct = e - o * channels * taps;
    dw[e] = hd::mul_rn(w2[ct * out_channels + o], inv_r);
  }
}

void fill_probes(const probe::ProbeParams& p, int64_t p0, int64_t rows, int64_t i0, int64_t width, float* out,
                 int64_t ld) {
  if (rows * width == 0) return;
  fill_probes_kernel<<<blocks_for(rows * width, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
      p, p0, rows, i0, width, out, ld);
  check_launch("randomized trace probe fill");
}

void probe_columns(const probe::ProbeParams& p, const probe::ConvTaps& g, int64_t p0, int64_t channels, int64_t taps,
                   int64_t rows, int64_t out_plane, float* cols) {
  if (rows * out_plane == 0) return;
  probe_columns_kernel<<<blocks_for(rows * out_plane, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
      p, g, p0, channels, taps, rows, out_plane, cols);
  check_launch("randomized trace probe columns");
}

// ---- Shapes and workspace layouts ----

struct ConvSizes {
  int64_t taps, in_plane, out_plane;
};
ConvSizes sizes_of(const Conv2dGeometry& g) {
  return {g.kernel_h * g.kernel_w, g.in_h * g.in_w, g.out_h() * g.out_w()};
}

struct IndependentLayout {
  int64_t chunk;            // bc: samples per chunk of A
  int64_t cols, a, vt, w2;  // floats of each part, in this order
  int64_t total() const { return cols + a + vt + w2; }
};

IndependentLayout independent_layout(const Conv2dGeometry& g, const TraceProbes& tp) {
  const ConvSizes s = sizes_of(g);
  const int64_t pb = probe_block(tp), per_sample = pb * s.taps * g.out_channels;
  IndependentLayout l;
  l.chunk = std::clamp<int64_t>(kChunkFloats / std::max<int64_t>(per_sample, 1), 1, std::max<int64_t>(g.batch, 1));
  l.cols = pb * s.taps * s.out_plane;
  l.a = l.chunk * per_sample;
  l.vt = g.in_channels * l.chunk * pb;
  l.w2 = g.in_channels * s.taps * g.out_channels;
  return l;
}

int64_t sample_workspace_floats(const Conv2dGeometry& g, const TraceProbes& tp) {
  const ConvSizes s = sizes_of(g);
  return probe_block(tp) * g.out_channels * s.out_plane + g.in_channels * s.taps * s.out_plane;
}

// ---- Estimators ----

// out[rows, r] = x[rows, dim] z^T[dim, r], the probes generated a block of entries at a time into scratch.
void sketch_rows(const probe::ProbeParams& p, int64_t rows, const float* x, float* out, float* scratch) {
  const int64_t r = p.count, dim = p.dim;
  const int64_t block = std::max<int64_t>(1, kSketchScratchFloats / r);
  for (int64_t m0 = 0; m0 < dim; m0 += block) {
    const int64_t width = std::min(block, dim - m0);
    fill_probes(p, 0, r, m0, width, scratch, width);
    gemm_rowmajor(false, true, rows, r, width, 1.0f, x + m0, dim, scratch, width, m0 == 0 ? 0.0f : 1.0f, out, r);
  }
}

// Independent probes over the H*W pixels (the algebra of conv_independent_weight_grad on the CPU):
// dw[o,c,t] = (1/r) sum_{b,p} V[b,c,p] A_b[p,t,o], A_b = col(z) dy_b^T. Per probe block and chunk of
// samples: A for the chunk in one batched GEMM, then W2[C, T*O] += Vt[C, (b,p)] A[(b,p), (t,o)].
void conv_independent_weight_grad(const Conv2dGeometry& g, const TraceProbes& tp, const float* sketch, const float* dy,
                                  float* dw, float* workspace) {
  const ConvSizes s = sizes_of(g);
  const probe::ProbeParams p = probe::params_of(conv_probe_set(g, tp));
  const probe::ConvTaps taps = probe::taps_of(g);
  const int64_t r = tp.count, pb = probe_block(tp), C = g.in_channels, O = g.out_channels, T = s.taps;
  const IndependentLayout l = independent_layout(g, tp);
  float* cols = workspace;
  float* a = cols + l.cols;
  float* vt = a + l.a;
  float* w2 = vt + l.vt;
  bool first = true;
  for (int64_t p0 = 0; p0 < r; p0 += pb) {
    const int64_t np = std::min(pb, r - p0);
    probe_columns(p, taps, p0, 1, T, np * T, s.out_plane, cols);
    for (int64_t b0 = 0; b0 < g.batch; b0 += l.chunk) {
      const int64_t nb = std::min(l.chunk, g.batch - b0);
      gemm_rowmajor_batched(false, true, np * T, O, s.out_plane, 1.0f, cols, s.out_plane, 0, dy + b0 * O * s.out_plane,
                            s.out_plane, O * s.out_plane, 0.0f, a, O, np * T * O, nb);
      gather_sketch_kernel<<<blocks_for(C * nb * np, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
          sketch, C, r, b0, nb, p0, np, vt);
      check_launch("randomized trace sketch gather");
      gemm_rowmajor(false, false, C, T * O, nb * np, 1.0f, vt, nb * np, a, T * O, first ? 0.0f : 1.0f, w2, T * O);
      first = false;
    }
  }
  const float inv_r = 1.0f / static_cast<float>(r);
  finish_independent_kernel<<<blocks_for(O * C * T, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
      w2, O, C, T, inv_r, dw);
  check_launch("randomized trace weight gradient");
}

// Probes over whole samples: dw[o, (c,t)] = (1/r) sum_p L_p[o, n] col(z_p)[(c,t), n], L_p = sum_b V[b,p] dy_b.
// Orthogonal probes take the same path: their columns are zero in the channels outside p's subset, which
// add nothing to dw (the CPU skips those channels).
void conv_sample_weight_grad(const Conv2dGeometry& g, const TraceProbes& tp, const float* sketch, const float* dy,
                             float* dw, float* workspace) {
  const ConvSizes s = sizes_of(g);
  const probe::ProbeParams p = probe::params_of(conv_probe_set(g, tp));
  const probe::ConvTaps taps = probe::taps_of(g);
  const int64_t r = tp.count, pb = probe_block(tp), C = g.in_channels, O = g.out_channels, T = s.taps;
  float* l = workspace;                   // [pb, O * OH*OW]
  float* col = l + pb * O * s.out_plane;  // [C * T, OH*OW]
  const float inv_r = 1.0f / static_cast<float>(r);
  for (int64_t p0 = 0; p0 < r; p0 += pb) {
    const int64_t np = std::min(pb, r - p0);
    gemm_rowmajor(true, false, np, O * s.out_plane, g.batch, 1.0f, sketch + p0, r, dy, O * s.out_plane, 0.0f, l,
                  O * s.out_plane);
    for (int64_t q = 0; q < np; ++q) {
      const int64_t probe = p0 + q;
      probe_columns(p, taps, probe, C, T, C * T, s.out_plane, col);
      gemm_rowmajor(false, true, O, C * T, s.out_plane, inv_r, l + q * O * s.out_plane, s.out_plane, col, s.out_plane,
                    probe == 0 ? 0.0f : 1.0f, dw, C * T);
    }
  }
}

}  // namespace

size_t trace_sketch_scratch_bytes(const TraceProbes& probes) {
  return static_cast<size_t>(std::max<int64_t>(kSketchScratchFloats, probes.count)) * sizeof(float);
}

size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes) {
  const int64_t floats = probes.mode == ProbeMode::Independent ? independent_layout(g, probes).total()
                                                               : sample_workspace_floats(g, probes);
  return static_cast<size_t>(floats) * sizeof(float);
}

size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out, const TraceProbes& p) {
  const int64_t floats = p.mode == ProbeMode::Independent ? p.count * n + p.count * out : p.count * in + out * p.count;
  return static_cast<size_t>(floats) * sizeof(float);
}

void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& tp, const float* x, float* sketch, float* scratch) {
  check_conv(g);
  const probe::ProbeParams p = probe::params_of(conv_probe_set(g, tp));
  // independent: [N*C, H*W] x z^T; gaussian/orthogonal: [N, C*H*W] x z^T.
  const int64_t rows = tp.mode == ProbeMode::Independent ? g.batch * g.in_channels : g.batch;
  sketch_rows(p, rows, x, sketch, scratch);
}

void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& tp, const float* sketch, const float* dy,
                            float* dw, float* workspace) {
  check_conv(g);
  if (tp.mode == ProbeMode::Independent)
    conv_independent_weight_grad(g, tp, sketch, dy, dw, workspace);
  else
    conv_sample_weight_grad(g, tp, sketch, dy, dw, workspace);
}

void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& tp, const float* x, float* sketch, float* scratch) {
  const probe::ProbeParams p = probe::params_of(linear_probe_set(n, in, tp));
  if (tp.mode != ProbeMode::Independent) {  // V[N, r] = x z^T over the features
    sketch_rows(p, n, x, sketch, scratch);
    return;
  }
  // Token axis: V[r, in] = S^T x with S[N, r] the probes over the batch, a block of samples at a time.
  const int64_t r = tp.count;
  const int64_t block = std::max<int64_t>(1, kSketchScratchFloats / r);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t width = std::min(block, n - b0);
    fill_probes(p, 0, r, b0, width, scratch, width);
    gemm_rowmajor(false, false, r, in, width, 1.0f, scratch, width, x + b0 * in, in, b0 == 0 ? 0.0f : 1.0f, sketch, in);
  }
}

void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& tp, const float* sketch,
                              const float* dy, float* dw, float* workspace) {
  const probe::ProbeParams p = probe::params_of(linear_probe_set(n, in, tp));
  const int64_t r = tp.count;
  const float inv_r = 1.0f / static_cast<float>(r);
  if (tp.mode == ProbeMode::Independent) {
    // U[r, out] = S^T dy; dw = (1/r) U^T V.
    float* s = workspace;  // [r, N]
    float* u = s + r * n;  // [r, out]
    fill_probes(p, 0, r, 0, n, s, n);
    gemm_rowmajor(false, false, r, out, n, 1.0f, s, n, dy, out, 0.0f, u, out);
    gemm_rowmajor(true, false, out, in, r, inv_r, u, out, sketch, in, 0.0f, dw, in);
    return;
  }
  // P[out, r] = dy^T V; dw = (1/r) P z.
  float* z = workspace;      // [r, in]
  float* proj = z + r * in;  // [out, r]
  fill_probes(p, 0, r, 0, in, z, in);
  gemm_rowmajor(true, false, out, r, n, 1.0f, dy, out, sketch, r, 0.0f, proj, r);
  gemm_rowmajor(false, false, out, in, r, inv_r, proj, r, z, in, 0.0f, dw, in);
}

}  // namespace frugal::cuda
