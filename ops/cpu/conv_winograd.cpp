#include "ops/cpu/conv_winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "ops/cpu/conv_direct_parts.h"
#include "ops/cpu/conv_winograd_parts.h"

namespace frugal {
namespace {

using direct_detail::kOutTile;
using direct_detail::round_up;
using simd::kLanes;
using winograd_detail::gather_row_columns;
using winograd_detail::interleave_columns;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
using winograd_detail::gather_columns16;
#endif

// Below this many channels on either side the transforms cost more than the products save.
constexpr int64_t kWinogradMinChannels = 32;
// One tile group's transformed inputs and products (16 * (in + out) floats a tile): up to 1 MiB, so
// that a group stays in L2 from its input transform through its 16 products to its output transform,
// but at least three vectors of tiles, one full register tile of the products.
constexpr int64_t kGroupFloats = int64_t{1} << 18;
constexpr int64_t kMinGroupTiles = 3 * kLanes;

// A convolution run: input [batch, in, h, w] -> output [batch, out, h, w] (3x3, stride 1, pad 1),
// computed in 2x2 output tiles. The batch is split into one chunk per thread; a chunk's tile rows
// (sample by sample, top to bottom) are taken a group of whole rows at a time, their tiles numbered
// 0, 1, ... across rows and samples, so every transform runs over one flat vector of tiles whatever
// the image size.
struct Run {
  int64_t batch, in, out, h, w;
  int64_t out_rows;           // out rounded up to whole register tiles
  int64_t tiles_h, tiles_w;   // tiles of a sample
  int64_t chunks, group_rows;  // tile rows per group
  int64_t ld;                 // a group's tiles rounded up to whole vectors: the row length below
  int64_t v_step, m_step, d_step;  // from one xi (or tile entry) to the next: spread_stride
  int64_t weight_floats() const { return 16 * out_rows * in; }
  // v [16, in, ld] and m [16, out_rows, ld], one tile's 16 inputs [16, ld], its 4 outputs [4, ld].
  int64_t chunk_floats() const { return 16 * (v_step + m_step + d_step) + 4 * ld; }
};

Run make_run(int64_t batch, int64_t in, int64_t out, int64_t h, int64_t w) {
  Run r{batch, in, out, h, w, round_up(out, kOutTile), (h + 1) / 2, (w + 1) / 2, 1, 1, 0, 0, 0, 0};
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  r.chunks = std::max<int64_t>(1, std::min(batch, threads));
  const int64_t chunk_rows = (batch + r.chunks - 1) / r.chunks * r.tiles_h;
  const int64_t tiles = std::max(kMinGroupTiles, kGroupFloats / (16 * (in + r.out_rows)));
  const int64_t most = std::clamp<int64_t>(tiles / r.tiles_w, 1, chunk_rows);
  const int64_t groups = (chunk_rows + most - 1) / most;  // near-equal groups: no sliver of tiles
  r.group_rows = (chunk_rows + groups - 1) / groups;
  r.ld = round_up(r.group_rows * r.tiles_w, kLanes);
  r.v_step = winograd_detail::spread_stride(in * r.ld);
  r.m_step = winograd_detail::spread_stride(r.out_rows * r.ld);
  r.d_step = winograd_detail::spread_stride(r.ld);
  return r;
}

// u[xi] = (G g G^T)[xi] for each 3x3 kernel g = weight(o, c, ., .), G = [1 0 0; .5 .5 .5; .5 -.5 .5;
// 0 0 1], packed for the forward tiles: u[xi][o / kOutTile][c][o % kOutTile], zero in the rows past
// `out`.
template <class Weight>
void transform_weights(const Run& r, const Weight& weight, float* u) {
  // A block of kOutTile output channels at a time, kChannelRun input channels at a time: the block's
  // transforms t[o % kOutTile][xi][c] stay in L1 while they are written out as runs of kOutTile
  // floats (writing each o's 16 values straight into the packed layout, 32 bytes apart, was a third of
  // a 512-channel conv's time).
  constexpr int64_t kChannelRun = 64;
  const int64_t C = r.in, step = r.out_rows * C;  // from xi to xi + 1
#pragma omp parallel if (r.out * r.in >= 4096)
  {
    std::vector<float> taps(9 * kChannelRun);               // taps[k][c]: one output channel's kernels
    std::vector<float> t(kOutTile * 16 * kChannelRun);  // t[o % kOutTile][xi][c]: their transforms
#pragma omp for schedule(static)
    for (int64_t ob = 0; ob < r.out_rows / kOutTile; ++ob)
      for (int64_t c0 = 0; c0 < C; c0 += kChannelRun) {
        const int64_t n = std::min(kChannelRun, C - c0);
        for (int64_t oi = 0; oi < kOutTile; ++oi) {
          const int64_t o = ob * kOutTile + oi;
          float* to = t.data() + oi * 16 * kChannelRun;
          if (o >= r.out) {
            std::fill_n(to, 16 * kChannelRun, 0.0f);
            continue;
          }
          for (int64_t c = 0; c < n; ++c)
            for (int k = 0; k < 9; ++k) taps[k * kChannelRun + c] = weight(o, c0 + c, k / 3, k % 3);
          const float* g = taps.data();
#pragma omp simd
          for (int64_t c = 0; c < n; ++c) {  // vectorised across input channels
            float gt[4][3];
            for (int j = 0; j < 3; ++j) {
              const float g0 = g[j * kChannelRun + c], g1 = g[(3 + j) * kChannelRun + c],
                          g2 = g[(6 + j) * kChannelRun + c];
              gt[0][j] = g0;
              gt[1][j] = 0.5f * (g0 + g1 + g2);
              gt[2][j] = 0.5f * (g0 - g1 + g2);
              gt[3][j] = g2;
            }
            for (int i = 0; i < 4; ++i) {
              to[(i * 4 + 0) * kChannelRun + c] = gt[i][0];
              to[(i * 4 + 1) * kChannelRun + c] = 0.5f * (gt[i][0] + gt[i][1] + gt[i][2]);
              to[(i * 4 + 2) * kChannelRun + c] = 0.5f * (gt[i][0] - gt[i][1] + gt[i][2]);
              to[(i * 4 + 3) * kChannelRun + c] = gt[i][2];
            }
          }
        }
        for (int64_t xi = 0; xi < 16; ++xi) {
          float* run = u + xi * step + (ob * C + c0) * kOutTile;
          for (int64_t c = 0; c < n; ++c)
            for (int64_t oi = 0; oi < kOutTile; ++oi)
              run[c * kOutTile + oi] = t[(oi * 16 + xi) * kChannelRun + c];
        }
      }
  }
}

// The tiles of a group: `rows` tile rows from the chunk's flat row index `row` (sample row / tiles_h,
// tile row row % tiles_h), tiles_w tiles each.
struct Group {
  int64_t row, rows, tiles, vectors_end;  // tiles rounded up to whole vectors
};

// d[(4i + j) * ld + tx] = x(2ty - 1 + i, 2tx - 1 + j) for the tx of one tile row (zero outside the
// image), i.e. the 4x4 input tiles of the row, one plane of 16 per tile entry.
void gather_tile_row(const Run& r, const float* plane, int64_t ty, float* d) {
  const int64_t tw = r.tiles_w;
  for (int i = 0; i < 4; ++i) {
    float* di = d + 4 * i * r.d_step;
    const int64_t y = 2 * ty - 1 + i;
    if (y < 0 || y >= r.h) {
      for (int j = 0; j < 4; ++j) std::fill_n(di + j * r.d_step, tw, 0.0f);
      continue;
    }
    gather_row_columns(plane + y * r.w, r.w, tw, di, di + r.d_step, di + 2 * r.d_step, di + 3 * r.d_step);
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// transform_inputs for rows of whole vectors of tiles (tiles_w a multiple of 16, maps 32 wide and up):
// each vector of 16 tiles gathered and transformed in registers, with no trip through `d`.
void transform_inputs_in_registers(const Run& r, const float* x, const Group& grp, float* v) {
  const int64_t plane = r.h * r.w, step = r.v_step;  // from xi to xi + 1
  for (int64_t c = 0; c < r.in; ++c)
    for (int64_t row = grp.row; row < grp.row + grp.rows; ++row) {
      const int64_t sample = row / r.tiles_h, ty = row % r.tiles_h, k0 = (row - grp.row) * r.tiles_w;
      const float* p = x + (sample * r.in + c) * plane;
      for (int64_t tx = 0; tx < r.tiles_w; tx += 16) {
        __m512 d[4][4];
        for (int i = 0; i < 4; ++i) {
          const int64_t y = 2 * ty - 1 + i;
          if (y < 0 || y >= r.h) {
            for (int j = 0; j < 4; ++j) d[i][j] = _mm512_setzero_ps();
          } else {
            gather_columns16(p + y * r.w, r.w, tx, d[i]);
          }
        }
        float* out = v + c * r.ld + k0 + tx;
        for (int i = 0; i < 4; ++i) {  // row i of B^T d, then times B (as transform_inputs)
          __m512 t[4];
          for (int j = 0; j < 4; ++j)
            t[j] = i == 0 ? _mm512_sub_ps(d[0][j], d[2][j])
                   : i == 1 ? _mm512_add_ps(d[1][j], d[2][j])
                   : i == 2 ? _mm512_sub_ps(d[2][j], d[1][j])
                            : _mm512_sub_ps(d[1][j], d[3][j]);
          _mm512_storeu_ps(out + (4 * i + 0) * step, _mm512_sub_ps(t[0], t[2]));
          _mm512_storeu_ps(out + (4 * i + 1) * step, _mm512_add_ps(t[1], t[2]));
          _mm512_storeu_ps(out + (4 * i + 2) * step, _mm512_sub_ps(t[2], t[1]));
          _mm512_storeu_ps(out + (4 * i + 3) * step, _mm512_sub_ps(t[1], t[3]));
        }
      }
    }
}

// transform_outputs for rows of whole vectors of tiles: each vector of 16 tiles' 2x2 blocks computed
// and interleaved into its two output rows in registers.
void transform_outputs_in_registers(const Run& r, const float* m, const float* bias, const Group& grp, float* y) {
  const int64_t plane = r.h * r.w, step = r.m_step;  // from xi to xi + 1
  for (int64_t o = 0; o < r.out; ++o) {
    const __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
    for (int64_t row = grp.row; row < grp.row + grp.rows; ++row) {
      const int64_t sample = row / r.tiles_h, oy = 2 * (row % r.tiles_h), k0 = (row - grp.row) * r.tiles_w;
      float* py = y + (sample * r.out + o) * plane;
      for (int64_t tx = 0; tx < r.tiles_w; tx += 16) {
        const float* mk = m + o * r.ld + k0 + tx;
        __m512 a[2][4];
        for (int j = 0; j < 4; ++j) {
          const __m512 m0 = _mm512_loadu_ps(mk + j * step), m1 = _mm512_loadu_ps(mk + (4 + j) * step),
                       m2 = _mm512_loadu_ps(mk + (8 + j) * step), m3 = _mm512_loadu_ps(mk + (12 + j) * step);
          a[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
          a[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
        }
        const int64_t col = 2 * tx, n = std::min<int64_t>(32, r.w - col);
        for (int i = 0; i < 2 && oy + i < r.h; ++i) {
          const __m512 left = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[i][0], a[i][1]), a[i][2]), b);
          const __m512 right = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(a[i][1], a[i][2]), a[i][3]), b);
          winograd_detail::store_interleaved(left, right, n, py + (oy + i) * r.w + col);
        }
      }
    }
  }
}
#endif

// v[xi][c][k] = (B^T d B)[xi] for the 4x4 input tile d of each tile k of the group,
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. `d` is [16, ld] of scratch whose entries past the
// group's tiles are zero.
void transform_inputs(const Run& r, const float* x, const Group& grp, float* v, float* d) {
  const int64_t ld = r.ld, dld = r.d_step, plane = r.h * r.w, step = r.v_step;  // from xi to xi + 1
  for (int64_t c = 0; c < r.in; ++c) {
    for (int64_t row = grp.row; row < grp.row + grp.rows; ++row) {
      const int64_t sample = row / r.tiles_h, ty = row % r.tiles_h;
      gather_tile_row(r, x + (sample * r.in + c) * plane, ty, d + (row - grp.row) * r.tiles_w);
    }
    float* out = v + c * ld;
#pragma omp simd
    for (int64_t k = 0; k < grp.vectors_end; ++k) {
      float t[4][4];  // B^T d, then times B
      for (int j = 0; j < 4; ++j) {
        const float d0 = d[j * dld + k], d1 = d[(4 + j) * dld + k], d2 = d[(8 + j) * dld + k],
                    d3 = d[(12 + j) * dld + k];
        t[0][j] = d0 - d2;
        t[1][j] = d1 + d2;
        t[2][j] = d2 - d1;
        t[3][j] = d1 - d3;
      }
      for (int i = 0; i < 4; ++i) {
        out[(4 * i + 0) * step + k] = t[i][0] - t[i][2];
        out[(4 * i + 1) * step + k] = t[i][1] + t[i][2];
        out[(4 * i + 2) * step + k] = t[i][2] - t[i][1];
        out[(4 * i + 3) * step + k] = t[i][1] - t[i][3];
      }
    }
  }
}

// y's 2x2 block of each tile k = A^T M A (+ bias), A^T = [1 1 1 0; 0 1 -1 -1], computed over the flat
// tiles into `blocks` [4, ld] (rows: top left, top right, bottom left, bottom right), then written
// row by row; parts past the image edge are dropped.
void transform_outputs(const Run& r, const float* m, const float* bias, const Group& grp, float* y,
                       float* blocks) {
  const int64_t ld = r.ld, plane = r.h * r.w, step = r.m_step;  // from xi to xi + 1
  const int64_t tw = r.tiles_w;
  for (int64_t o = 0; o < r.out; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    const float* mo = m + o * ld;
#pragma omp simd
    for (int64_t k = 0; k < grp.vectors_end; ++k) {
      float a[2][4];
      for (int j = 0; j < 4; ++j) {
        const float m0 = mo[j * step + k], m1 = mo[(4 + j) * step + k], m2 = mo[(8 + j) * step + k],
                    m3 = mo[(12 + j) * step + k];
        a[0][j] = m0 + m1 + m2;
        a[1][j] = m1 - m2 - m3;
      }
      for (int i = 0; i < 2; ++i) {
        blocks[(2 * i) * ld + k] = a[i][0] + a[i][1] + a[i][2] + b;
        blocks[(2 * i + 1) * ld + k] = a[i][1] - a[i][2] - a[i][3] + b;
      }
    }
    for (int64_t row = grp.row; row < grp.row + grp.rows; ++row) {
      const int64_t sample = row / r.tiles_h, oy = 2 * (row % r.tiles_h), k0 = (row - grp.row) * tw;
      float* py = y + (sample * r.out + o) * plane;
      for (int i = 0; i < 2 && oy + i < r.h; ++i) {
        const float* left = blocks + 2 * i * ld + k0;
        interleave_columns(left, left + ld, r.w, py + (oy + i) * r.w);
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
    float* m = v + 16 * r.v_step;
    float* d = m + 16 * r.m_step;
    float* blocks = d + 16 * r.d_step;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    const bool whole_vectors = r.tiles_w % kLanes == 0;  // rows transformed in registers, without d
#else
    const bool whole_vectors = false;
#endif
    if (!whole_vectors) std::fill_n(d, 16 * r.d_step, 0.0f);  // the entries past a group's tiles stay zero
    const int64_t first = chunk * r.batch / r.chunks * r.tiles_h;
    const int64_t end = (chunk + 1) * r.batch / r.chunks * r.tiles_h;
    for (int64_t row = first; row < end; row += r.group_rows) {
      Group grp{row, std::min(r.group_rows, end - row), 0, 0};
      grp.tiles = grp.rows * r.tiles_w;
      grp.vectors_end = round_up(grp.tiles, kLanes);
      // A shorter last group: clear what the longer ones left in d.
      if (!whole_vectors && grp.tiles < r.group_rows * r.tiles_w)
        for (int e = 0; e < 16; ++e) std::fill(d + e * r.d_step + grp.tiles, d + e * r.d_step + r.ld, 0.0f);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
      if (whole_vectors)
        transform_inputs_in_registers(r, x, grp, v);
      else
#endif
        transform_inputs(r, x, grp, v, d);
      for (int xi = 0; xi < 16; ++xi)  // m[xi] [out, tiles] = u[xi] [out, in] * v[xi] [in, tiles]
        direct_detail::gemm_tiles(v + xi * r.v_step, r.ld, r.in, u + xi * r.out_rows * r.in, r.out_rows,
                                  grp.vectors_end, m + xi * r.m_step, r.ld);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
      if (whole_vectors)
        transform_outputs_in_registers(r, m, bias, grp, y);
      else
#endif
        transform_outputs(r, m, bias, grp, y, blocks);
    }
  };
  if (r.chunks == 1) return chunk_body(0);
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
  // The backward run swaps in and out, whose rounding to register tiles differs.
  const Run forward = make_run(g.batch, g.in_channels, g.out_channels, g.in_h, g.in_w),
            backward = make_run(g.batch, g.out_channels, g.in_channels, g.in_h, g.in_w);
  return static_cast<size_t>(std::max(forward.weight_floats() + forward.chunks * forward.chunk_floats(),
                                      backward.weight_floats() + backward.chunks * backward.chunk_floats()));
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
