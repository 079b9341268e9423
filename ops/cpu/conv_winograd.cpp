#include "ops/cpu/conv_winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "ops/cpu/gemm.h"

namespace frugal {
namespace {

// Below this many channels on either side the 16 GEMMs are too thin to beat the direct kernels.
constexpr int64_t kWinogradMinChannels = 128;
// One tile group's transformed inputs and products per batch chunk: 4 MiB, so a group stays in the
// cache between its transform, its GEMMs and the output transform.
constexpr int64_t kTileGroupFloats = int64_t{1} << 20;
constexpr int64_t kMinGroupTiles = 16;

// A convolution run: input [batch, in, h, w] -> output [batch, out, h, w] (3x3, stride 1, pad 1).
struct Run {
  int64_t batch, in, out, h, w;
  int64_t tiles_w, tiles_per_sample;  // 2x2 output blocks
  int64_t chunks, group_tiles;
  int64_t weight_floats() const { return 16 * out * in; }
  int64_t chunk_floats() const { return 16 * (in + out) * group_tiles; }
};

Run make_run(int64_t batch, int64_t in, int64_t out, int64_t h, int64_t w) {
  Run r{batch, in, out, h, w, (w + 1) / 2, ((h + 1) / 2) * ((w + 1) / 2), 1, 1};
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  r.chunks = std::max<int64_t>(1, std::min(batch, threads));
  // Groups of near-equal size, so no GEMM is left with a sliver of tiles.
  const int64_t chunk_tiles = (batch + r.chunks - 1) / r.chunks * r.tiles_per_sample;
  const int64_t most =
      std::min(chunk_tiles, std::max(kMinGroupTiles, kTileGroupFloats / (16 * (in + out))));
  const int64_t groups = (chunk_tiles + most - 1) / most;
  r.group_tiles = (chunk_tiles + groups - 1) / groups;
  return r;
}

// u[xi][o][c] = (G g G^T)[xi] for each 3x3 kernel g = weight(o, c, ., .), G = [1 0 0; .5 .5 .5;
// .5 -.5 .5; 0 0 1].
template <class Weight>
void transform_weights(const Run& r, const Weight& weight, float* u) {
  const int64_t step = r.out * r.in;  // from xi to xi + 1
#pragma omp parallel if (r.out * r.in >= 4096)
  {
    std::vector<float> taps(static_cast<size_t>(9 * r.in));  // taps[k][c]: one output channel's kernels
#pragma omp for schedule(static)
    for (int64_t o = 0; o < r.out; ++o) {
      for (int64_t c = 0; c < r.in; ++c)
        for (int k = 0; k < 9; ++k) taps[k * r.in + c] = weight(o, c, k / 3, k % 3);
      const float* g = taps.data();
      float* uo = u + o * r.in;
#pragma omp simd
      for (int64_t c = 0; c < r.in; ++c) {  // vectorised across input channels
        float t[4][3];
        for (int j = 0; j < 3; ++j) {
          const float g0 = g[j * r.in + c], g1 = g[(3 + j) * r.in + c], g2 = g[(6 + j) * r.in + c];
          t[0][j] = g0;
          t[1][j] = 0.5f * (g0 + g1 + g2);
          t[2][j] = 0.5f * (g0 - g1 + g2);
          t[3][j] = g2;
        }
        for (int i = 0; i < 4; ++i) {
          uo[(i * 4 + 0) * step + c] = t[i][0];
          uo[(i * 4 + 1) * step + c] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
          uo[(i * 4 + 2) * step + c] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
          uo[(i * 4 + 3) * step + c] = t[i][2];
        }
      }
    }
  }
}

// A run of a group's tiles along one tile row: tiles [k, k + count) of the group are tiles
// [tx, tx + count) of row ty of `sample`.
struct TileRowSegment {
  int64_t k, sample, ty, tx, count;
};

// One input row (row y of a plane; zeros outside the image) split by column parity around the pad:
// even[q] = x[y][2q - 1], odd[q] = x[y][2q], so tile tx's 4 columns are even[tx], odd[tx], even[tx+1],
// odd[tx+1] and the tile transform vectorises across tiles.
void split_row(const Run& r, const float* plane, int64_t y, float* even, float* odd) {
  const int64_t n = r.tiles_w + 1;
  if (y < 0 || y >= r.h) {
    std::fill_n(even, n, 0.0f);
    std::fill_n(odd, n, 0.0f);
    return;
  }
  const float* row = plane + y * r.w;
  for (int64_t q = 0; q < n; ++q) {
    const int64_t xe = 2 * q - 1, xo = 2 * q;
    even[q] = xe >= 0 && xe < r.w ? row[xe] : 0.0f;
    odd[q] = xo < r.w ? row[xo] : 0.0f;
  }
}

// v[xi][c][k] = (B^T d B)[xi] for the 4x4 input tile d of each tile k (zeros past the image),
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. `rows` holds 8 * (tiles_w + 1) floats of scratch.
void transform_inputs(const Run& r, const float* x, const std::vector<TileRowSegment>& segments, float* v,
                      float* rows) {
  const int64_t ld = r.group_tiles, plane = r.h * r.w, stride = r.tiles_w + 1;
  const int64_t step = r.in * ld;  // from xi to xi + 1
  for (int64_t c = 0; c < r.in; ++c)
    for (const TileRowSegment& seg : segments) {
      const float* p = x + (seg.sample * r.in + c) * plane;
      const float *e[4], *o[4];
      for (int i = 0; i < 4; ++i) {
        float* even = rows + 2 * i * stride;
        split_row(r, p, 2 * seg.ty - 1 + i, even, even + stride);
        e[i] = even + seg.tx;
        o[i] = even + stride + seg.tx;
      }
      float* out = v + c * ld + seg.k;
#pragma omp simd
      for (int64_t t = 0; t < seg.count; ++t) {
        float d[4][4];
        for (int i = 0; i < 4; ++i) d[i][0] = e[i][t], d[i][1] = o[i][t], d[i][2] = e[i][t + 1], d[i][3] = o[i][t + 1];
        for (int i = 0; i < 4; ++i) {
          // Row i of B^T d, then times B.
          float a, b, cc, dd;
          switch (i) {
            case 0: a = d[0][0] - d[2][0], b = d[0][1] - d[2][1], cc = d[0][2] - d[2][2], dd = d[0][3] - d[2][3]; break;
            case 1: a = d[1][0] + d[2][0], b = d[1][1] + d[2][1], cc = d[1][2] + d[2][2], dd = d[1][3] + d[2][3]; break;
            case 2: a = d[2][0] - d[1][0], b = d[2][1] - d[1][1], cc = d[2][2] - d[1][2], dd = d[2][3] - d[1][3]; break;
            default: a = d[1][0] - d[3][0], b = d[1][1] - d[3][1], cc = d[1][2] - d[3][2], dd = d[1][3] - d[3][3]; break;
          }
          out[(4 * i + 0) * step + t] = a - cc;
          out[(4 * i + 1) * step + t] = b + cc;
          out[(4 * i + 2) * step + t] = cc - b;
          out[(4 * i + 3) * step + t] = b - dd;
        }
      }
    }
}

// y's 2x2 block of each tile k = A^T M A (+ bias), A^T = [1 1 1 0; 0 1 -1 -1]; parts past the image
// edge are dropped.
void transform_outputs(const Run& r, const float* m, const float* bias,
                       const std::vector<TileRowSegment>& segments, float* y) {
  const int64_t ld = r.group_tiles, plane = r.h * r.w;
  const int64_t step = r.out * ld;  // from xi to xi + 1
  for (int64_t o = 0; o < r.out; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    for (const TileRowSegment& seg : segments) {
      float* py = y + (seg.sample * r.out + o) * plane;
      const int64_t oy = 2 * seg.ty;  // the blocks' top output row
      for (int64_t t = 0; t < seg.count; ++t) {
        const float* mk = m + o * ld + seg.k + t;
        float a[2][4];
        for (int j = 0; j < 4; ++j) {
          const float m0 = mk[j * step], m1 = mk[(4 + j) * step], m2 = mk[(8 + j) * step], m3 = mk[(12 + j) * step];
          a[0][j] = m0 + m1 + m2;
          a[1][j] = m1 - m2 - m3;
        }
        const int64_t ox = 2 * (seg.tx + t);
        for (int i = 0; i < 2 && oy + i < r.h; ++i) {
          py[(oy + i) * r.w + ox] = a[i][0] + a[i][1] + a[i][2] + b;
          if (ox + 1 < r.w) py[(oy + i) * r.w + ox + 1] = a[i][1] - a[i][2] - a[i][3] + b;
        }
      }
    }
  }
}

template <class Weight>
void winograd_run(const Run& r, const float* x, const Weight& weight, const float* bias, float* y,
                  float* workspace) {
  float* u = workspace;
  transform_weights(r, weight, u);
  auto chunk_body = [&](int64_t chunk) {
    float* v = workspace + r.weight_floats() + chunk * r.chunk_floats();
    float* m = v + 16 * r.in * r.group_tiles;
    const int64_t first = chunk * r.batch / r.chunks * r.tiles_per_sample;
    const int64_t end = (chunk + 1) * r.batch / r.chunks * r.tiles_per_sample;
    std::vector<TileRowSegment> segments;
    std::vector<float> rows(static_cast<size_t>(8 * (r.tiles_w + 1)));
    for (int64_t begin = first; begin < end; begin += r.group_tiles) {
      const int64_t count = std::min(r.group_tiles, end - begin);
      segments.clear();
      for (int64_t t = begin; t < begin + count; ++t) {
        const int64_t sample = t / r.tiles_per_sample, ty = t % r.tiles_per_sample / r.tiles_w,
                      tx = t % r.tiles_w;
        if (segments.empty() || segments.back().sample != sample || segments.back().ty != ty)
          segments.push_back({t - begin, sample, ty, tx, 0});
        ++segments.back().count;
      }
      transform_inputs(r, x, segments, v, rows.data());
      for (int xi = 0; xi < 16; ++xi)  // m[xi] [out, count] = u[xi] [out, in] * v[xi] [in, count]
        sgemm_rowmajor_parallel(false, false, r.out, count, r.in, 1.0f, u + xi * r.out * r.in, r.in,
                                v + xi * r.in * r.group_tiles, r.group_tiles, 0.0f,
                                m + xi * r.out * r.group_tiles, r.group_tiles);
      transform_outputs(r, m, bias, segments, y);
    }
  };
  if (r.chunks == 1) return chunk_body(0);  // its GEMMs split over the threads instead
  BlasSingleThreadScope single_threaded_blas;
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(r.chunks))
  for (int64_t chunk = 0; chunk < r.chunks; ++chunk) chunk_body(chunk);
}

}  // namespace

bool winograd_applies(const Conv2dGeometry& g) {
  return g.winograd && g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 &&
         g.pad_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 &&
         std::min(g.in_channels, g.out_channels) >= kWinogradMinChannels;
}

size_t winograd_workspace_floats(const Conv2dGeometry& g) {
  // The backward run swaps in and out: the same sizes.
  const Run r = make_run(g.batch, g.in_channels, g.out_channels, g.in_h, g.in_w);
  return static_cast<size_t>(r.weight_floats() + r.chunks * r.chunk_floats());
}

void winograd_forward_cpu(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                          float* y, float* workspace) {
  const int64_t C = g.in_channels;
  auto weight = [=](int64_t o, int64_t c, int64_t ky, int64_t kx) { return w[((o * C + c) * 3 + ky) * 3 + kx]; };
  winograd_run(make_run(g.batch, C, g.out_channels, g.in_h, g.in_w), x, weight, bias, y, workspace);
}

void winograd_backward_data_cpu(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                                float* workspace) {
  const int64_t C = g.in_channels;
  // The transposed convolution's kernel from its input channel o to its output channel c.
  auto weight = [=](int64_t c, int64_t o, int64_t ky, int64_t kx) {
    return w[((o * C + c) * 3 + (2 - ky)) * 3 + (2 - kx)];
  };
  winograd_run(make_run(g.batch, g.out_channels, C, g.in_h, g.in_w), dy, weight, nullptr, dx, workspace);
}

}  // namespace frugal
