// The entries of randomized-trace probes (ops/trace_probes.h, filled on the CPU by ops/cpu/probes_cpu.h)
// and the im2col position of a conv tap, as host/device arithmetic: the CUDA kernels
// (ops/cuda/randomized_trace_cuda.cu) regenerate every probe entry from (key, probe, entry) alone, and the
// CPU tests hold these functions against fill_probes and im2col_cpu.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "core/philox.h"
#include "ops/hd_float.h"
#include "ops/trace_probes.h"

namespace frugal::probe {

// A ProbeSet flattened for a kernel argument: the Philox key is mixed once on the host, and the
// orthogonal scale sqrt(r / |S_c|) is computed in double there as fill_probes does.
struct ProbeParams {
  uint64_t key = 0, step = 0;
  ProbeDistribution distribution = ProbeDistribution::Rademacher;
  int64_t count = 0, dim = 0, channel_size = 0, subset_size = 0;
  float scale = 1.0f;  // orthogonal sets only
};

inline ProbeParams params_of(const ProbeSet& s) {
  ProbeParams p;
  p.key = philox_key(s.key.seed, s.key.stream);
  p.step = s.key.step;
  p.distribution = s.distribution;
  p.count = s.count;
  p.dim = s.dim;
  p.channel_size = s.channel_size;
  p.subset_size = s.subset_size;
  if (s.orthogonal()) p.scale = static_cast<float>(std::sqrt(double(s.count) / double(s.subset_size)));
  return p;
}

// Word j of a Philox block as a probe entry: a Rademacher sign from the top bit, or one of the two
// Box-Muller normals of the word pair j belongs to (the numbering of rng_rademacher / rng_normal).
// Device log/cos/sin may differ from glibc's by an ulp of a double, which changes the float result only
// when it lies within that ulp of a rounding boundary (about 1 in 10^8 entries).
FRUGAL_HD inline float entry_of_block(const PhiloxBlock& b, int j, ProbeDistribution distribution) {
  if (distribution == ProbeDistribution::Rademacher) return (b.w[j] >> 31) ? 1.0f : -1.0f;
  constexpr double kTwoPi = 6.283185307179586;
  const int pair = j / 2;
  const double u1 = (static_cast<double>(b.w[2 * pair]) + 1.0) / 4294967296.0;  // (0, 1]
  const double u2 = static_cast<double>(b.w[2 * pair + 1]) / 4294967296.0;
  const double r = sqrt(-2.0 * log(u1));
  return static_cast<float>(j % 2 == 0 ? r * cos(kTwoPi * u2) : r * sin(kTwoPi * u2));
}

// Whether channel c uses probe p: S_c = {(c * s + j) mod r : 0 <= j < s} (ProbeSet::uses).
FRUGAL_HD inline bool uses(const ProbeParams& p, int64_t probe, int64_t channel) {
  if (p.channel_size == 0) return true;
  const int64_t offset = ((probe - channel * p.subset_size) % p.count + p.count) % p.count;
  return offset < p.subset_size;
}

// Entry i of probe z_p: element p * dim + i of the distribution's stream; orthogonal sets scale it by
// sqrt(r / |S_c|) in the channels that use p and zero it elsewhere.
FRUGAL_HD inline float value(const ProbeParams& p, int64_t probe, int64_t i) {
  const uint64_t index = static_cast<uint64_t>(probe) * static_cast<uint64_t>(p.dim) + static_cast<uint64_t>(i);
  if (p.channel_size > 0 && !uses(p, probe, i / p.channel_size)) return 0.0f;
  const float z =
      entry_of_block(philox4x32_block(p.key, p.step, index / 4), static_cast<int>(index % 4), p.distribution);
  return p.channel_size > 0 ? hd::mul_rn(p.scale, z) : z;
}

// ---- im2col positions (ops/cpu/im2col.h) ----

// What a kernel needs of a Conv2dGeometry to place a tap (Conv2dGeometry's own methods are host code).
struct ConvTaps {
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
};

inline ConvTaps taps_of(const Conv2dGeometry& g) {
  ConvTaps t;
  t.in_h = g.in_h;
  t.in_w = g.in_w;
  t.out_h = g.out_h();
  t.out_w = g.out_w();
  t.kernel_w = g.kernel_w;
  t.stride_h = g.stride_h;
  t.stride_w = g.stride_w;
  t.pad_h = g.pad_h;
  t.pad_w = g.pad_w;
  t.dilation_h = g.dilation_h;
  t.dilation_w = g.dilation_w;
  return t;
}

// The pixel (ih * W + iw, within one channel plane) that tap t = kh * KW + kw reads for output pixel
// n = oh * OW + ow, or -1 where the tap falls into the padding (im2col writes 0 there).
FRUGAL_HD inline int64_t tap_pixel(const ConvTaps& g, int64_t tap, int64_t out_pixel) {
  const int64_t kh = tap / g.kernel_w, kw = tap - kh * g.kernel_w;
  const int64_t oh = out_pixel / g.out_w, ow = out_pixel - oh * g.out_w;
  const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
  const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
  return ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w ? -1 : ih * g.in_w + iw;
}

// Entry (row, n) of the im2col columns of probe images: row = (q * channels + c) * taps + t holds tap t
// of channel c of probe p0 + q, whose entries are c * H*W + pixel. The conv trace estimator multiplies
// these columns (the probes shifted by each tap exactly as the conv shifts its input, zero in the
// padding) with dy.
FRUGAL_HD inline float probe_column(const ProbeParams& p, const ConvTaps& g, int64_t p0, int64_t channels, int64_t taps,
                                    int64_t row, int64_t out_pixel) {
  const int64_t t = row % taps, qc = row / taps;
  const int64_t c = qc % channels, q = qc / channels;
  const int64_t pixel = tap_pixel(g, t, out_pixel);
  return pixel < 0 ? 0.0f : value(p, p0 + q, c * g.in_h * g.in_w + pixel);
}

}  // namespace frugal::probe
