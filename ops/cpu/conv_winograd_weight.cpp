// The weight gradient in Winograd F(2x2, 3x3) form (conv_winograd.h): with the forward pass
// Y = A^T [(G g G^T) . (B^T d B)] A for each 2x2 output tile, the gradient of a 3x3 kernel is
//   dg = G^T [ sum over tiles of (A dY A^T) . (B^T d B) ] G,
// i.e. 16 GEMMs M[xi] [O x C] = Yhat[xi] [O x tiles] * V[xi]^T [tiles x C] over every tile of the batch,
// then one 4x4 -> 3x3 transform per kernel: 16 multiply-adds per tile and channel pair instead of the
// direct kernels' 36.
//
// The reduction runs over tiles, so the products are vectorised over input channels instead (no
// horizontal sums): the input tiles are transformed channels-last, 16 channels to a vector, after an
// in-register transpose, and the register tile is kOutTile output channels x up to three vectors of
// input channels, broadcasting Yhat. The batch's tiles are taken a group of whole tile rows at a time;
// each step of a group (input transform, dY transform, products) is split over the threads by channel
// or by output block, and every M entry is summed by one thread in tile order, so the result is the
// same bits for any thread count.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "ops/cpu/conv_winograd.h"
#include "ops/cpu/conv_winograd_parts.h"

namespace frugal {

#if defined(__AVX512F__) && defined(__AVX512DQ__)
namespace {

using direct_detail::kOutTile;
using direct_detail::round_up;
using simd::kLanes;
using simd::Vec;
using winograd_detail::first_lanes;
using winograd_detail::gather_row_columns;

// A group's transformed inputs and dY (16 * (in + out) floats a tile): up to 1 MiB, so that they stay in
// L2 through the products.
constexpr int64_t kGroupFloats = int64_t{1} << 18;
constexpr int64_t kMaxChannelVectors = 3;
constexpr int64_t kMinChannels = 64;

struct WeightRun {
  int64_t batch, in, out, h, w;
  int64_t in_pad, out_rows;  // channels rounded up to vectors, outputs to register tiles
  int64_t tiles_h, tiles_w, group_rows, ld;  // ld: the most tiles of a group
  int64_t row_pixels;                         // a channels-last input row: columns -1 .. 2 * tiles_w
  int64_t m_step, v_step, yhat_step;         // from one xi to the next: spread_stride
  int threads;
  int64_t m_floats() const { return 16 * m_step; }
  int64_t v_floats() const { return 16 * v_step; }
  int64_t yhat_floats() const { return 16 * yhat_step; }
  int64_t thread_floats() const { return 4 * row_pixels * kLanes + 6 * ld; }
  int64_t total_floats() const { return m_floats() + v_floats() + yhat_floats() + threads * thread_floats(); }
};

WeightRun make_weight_run(const Conv2dGeometry& g) {
  WeightRun r{};
  r.batch = g.batch, r.in = g.in_channels, r.out = g.out_channels, r.h = g.in_h, r.w = g.in_w;
  r.in_pad = round_up(r.in, kLanes);
  r.out_rows = round_up(r.out, kOutTile);
  r.tiles_h = (r.h + 1) / 2;
  r.tiles_w = (r.w + 1) / 2;
  const int64_t rows = r.batch * r.tiles_h;
  const int64_t most = std::clamp<int64_t>(kGroupFloats / (16 * (r.in_pad + r.out_rows)) / r.tiles_w, 1, rows);
  const int64_t groups = (rows + most - 1) / most;  // near-equal groups
  r.group_rows = (rows + groups - 1) / groups;
  r.ld = r.group_rows * r.tiles_w;
  r.row_pixels = round_up(2 * r.tiles_w + 2, kLanes);
  r.m_step = winograd_detail::spread_stride(r.out_rows * r.in_pad);
  r.v_step = winograd_detail::spread_stride(r.ld * r.in_pad);
  r.yhat_step = winograd_detail::spread_stride(r.out_rows * r.ld);
  r.threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return r;
}

// rows[i][p][lane] = x(sample, c0 + lane, 2ty - 1 + i, p - 1), zero outside the image and past the
// channels: the tile row's four input rows channels-last, 16 channels transposed in registers at a time.
void channels_last_rows(const WeightRun& r, const float* x, int64_t sample, int64_t c0, int64_t ty, float* rows) {
  const int64_t channels = std::min<int64_t>(kLanes, r.in - c0), plane = r.h * r.w;
  for (int i = 0; i < 4; ++i) {
    float* out = rows + i * r.row_pixels * kLanes;
    const int64_t y = 2 * ty - 1 + i;
    if (y < 0 || y >= r.h) {
      std::fill_n(out, r.row_pixels * kLanes, 0.0f);
      continue;
    }
    const float* src = x + (sample * r.in + c0) * plane + y * r.w;
    for (int64_t p = 0; p < r.row_pixels; p += kLanes) {
      const int64_t col = p - 1;  // the input column of pixel p
      // Lanes whose column is inside the row (masked lanes are neither read nor faulted on).
      const __mmask16 inside = static_cast<__mmask16>(first_lanes(std::max<int64_t>(0, r.w - col)) & (col < 0 ? 0xFFFE : 0xFFFF));
      __m512 v[16];
      for (int64_t l = 0; l < kLanes; ++l)
        v[l] = l < channels ? _mm512_maskz_loadu_ps(inside, src + l * plane + col) : _mm512_setzero_ps();
      direct_detail::transpose_16x16(v);
      for (int64_t q = 0; q < kLanes; ++q) _mm512_storeu_ps(out + (p + q) * kLanes, v[q]);
    }
  }
}

// v[xi][k][c0 .. c0 + 16) = (B^T d B)[xi] of the input tiles k of one tile row, 16 channels a vector.
void transform_input_row(const WeightRun& r, const float* rows, int64_t k0, int64_t c0, float* v) {
  const int64_t step = r.v_step;  // from xi to xi + 1
  for (int64_t tx = 0; tx < r.tiles_w; ++tx) {
    __m512 t[4][4];  // B^T d, then times B
    for (int j = 0; j < 4; ++j) {
      auto at = [&](int i) { return _mm512_loadu_ps(rows + (i * r.row_pixels + 2 * tx + j) * kLanes); };
      const __m512 d0 = at(0), d1 = at(1), d2 = at(2), d3 = at(3);
      t[0][j] = _mm512_sub_ps(d0, d2);
      t[1][j] = _mm512_add_ps(d1, d2);
      t[2][j] = _mm512_sub_ps(d2, d1);
      t[3][j] = _mm512_sub_ps(d1, d3);
    }
    float* out = v + (k0 + tx) * r.in_pad + c0;
    for (int i = 0; i < 4; ++i) {
      _mm512_storeu_ps(out + (4 * i + 0) * step, _mm512_sub_ps(t[i][0], t[i][2]));
      _mm512_storeu_ps(out + (4 * i + 1) * step, _mm512_add_ps(t[i][1], t[i][2]));
      _mm512_storeu_ps(out + (4 * i + 2) * step, _mm512_sub_ps(t[i][2], t[i][1]));
      _mm512_storeu_ps(out + (4 * i + 3) * step, _mm512_sub_ps(t[i][1], t[i][3]));
    }
  }
}

// yhat[xi][o][k] = (A dY A^T)[xi] for the 2x2 dY block of each tile k of the group (zero past the
// image), A = [1 0; 1 1; 1 -1; 0 -1]. `e` holds 6 * ld floats of scratch.
void transform_dy(const WeightRun& r, const float* dy, int64_t o, int64_t row0, int64_t rows, float* yhat, float* e) {
  const int64_t tiles = rows * r.tiles_w, step = r.yhat_step, plane = r.h * r.w;
  float* out = yhat + o * r.ld;
  if (o >= r.out) {
    for (int xi = 0; xi < 16; ++xi) std::fill_n(out + xi * step, tiles, 0.0f);
    return;
  }
  float* dy0 = e;  // [a][b][k]: dY(2ty + a, 2tx + b) of tile k
  float* junk = e + 4 * r.ld;
  for (int64_t row = row0; row < row0 + rows; ++row) {
    const int64_t sample = row / r.tiles_h, ty = row % r.tiles_h, k0 = (row - row0) * r.tiles_w;
    const float* p = dy + (sample * r.out + o) * plane;
    for (int a = 0; a < 2; ++a) {
      float* left = dy0 + 2 * a * r.ld + k0;
      float* right = left + r.ld;
      if (2 * ty + a >= r.h) {
        std::fill_n(left, r.tiles_w, 0.0f);
        std::fill_n(right, r.tiles_w, 0.0f);
        continue;
      }
      gather_row_columns(p + (2 * ty + a) * r.w, r.w, r.tiles_w, junk, left, right, junk + r.ld);
    }
  }
#pragma omp simd
  for (int64_t k = 0; k < tiles; ++k) {
    const float y00 = dy0[k], y01 = dy0[r.ld + k], y10 = dy0[2 * r.ld + k], y11 = dy0[3 * r.ld + k];
    const float q[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};
    for (int i = 0; i < 4; ++i) {
      out[(4 * i + 0) * step + k] = q[i][0];
      out[(4 * i + 1) * step + k] = q[i][0] + q[i][1];
      out[(4 * i + 2) * step + k] = q[i][0] - q[i][1];
      out[(4 * i + 3) * step + k] = -q[i][1];
    }
  }
}

// m[o][c] += sum over tiles k of yhat[o][k] * v[k][c] for kOutTile rows o and CV vectors of c.
template <int CV>
void product_tile(const float* yhat, int64_t yhat_ld, const float* v, int64_t v_ld, int64_t tiles, float* m,
                  int64_t m_ld) {
  Vec acc[kOutTile][CV];
  for (int o = 0; o < kOutTile; ++o)
    for (int j = 0; j < CV; ++j) acc[o][j] = simd::load(m + o * m_ld + j * kLanes);
  for (int64_t k = 0; k < tiles; ++k) {
    Vec in[CV];
    for (int j = 0; j < CV; ++j) in[j] = simd::load(v + k * v_ld + j * kLanes);
    for (int o = 0; o < kOutTile; ++o) {
      const Vec y = simd::broadcast(yhat + o * yhat_ld + k);
      for (int j = 0; j < CV; ++j) acc[o][j] = simd::fma(y, in[j], acc[o][j]);
    }
  }
  for (int o = 0; o < kOutTile; ++o)
    for (int j = 0; j < CV; ++j) simd::store(m + o * m_ld + j * kLanes, acc[o][j]);
}

// dw[o][c] (+)= G^T M[.][o][c] G, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
void transform_to_kernels(const WeightRun& r, const float* m, int64_t o, float* dw, bool accumulate) {
  const int64_t step = r.m_step;
  const float* mo = m + o * r.in_pad;
  float* out = dw + o * r.in * 9;
#pragma omp simd
  for (int64_t c = 0; c < r.in; ++c) {
    float n[3][4];  // G^T M
    for (int j = 0; j < 4; ++j) {
      const float m0 = mo[j * step + c], m1 = mo[(4 + j) * step + c], m2 = mo[(8 + j) * step + c],
                  m3 = mo[(12 + j) * step + c];
      n[0][j] = m0 + 0.5f * (m1 + m2);
      n[1][j] = 0.5f * (m1 - m2);
      n[2][j] = 0.5f * (m1 + m2) + m3;
    }
    for (int a = 0; a < 3; ++a) {
      const float k0 = n[a][0] + 0.5f * (n[a][1] + n[a][2]), k1 = 0.5f * (n[a][1] - n[a][2]),
                  k2 = 0.5f * (n[a][1] + n[a][2]) + n[a][3];
      float* kernel = out + c * 9 + a * 3;
      kernel[0] = accumulate ? kernel[0] + k0 : k0;
      kernel[1] = accumulate ? kernel[1] + k1 : k1;
      kernel[2] = accumulate ? kernel[2] + k2 : k2;
    }
  }
}

}  // namespace
#endif

bool winograd_weight_grad_applies(const Conv2dGeometry& g) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  // At 32 channels it only ties the direct kernels (ResNet-20's 32 @ 16x16, 1 thread) for 7x the
  // workspace.
  return winograd_applies(g) && std::min(g.in_channels, g.out_channels) >= kMinChannels;
#else
  (void)g;
  return false;  // the channels-last transform is written for AVX-512; the direct kernels serve the rest
#endif
}

size_t winograd_weight_grad_workspace_floats(const Conv2dGeometry& g) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  return static_cast<size_t>(make_weight_run(g).total_floats());
#else
  (void)g;
  return 0;
#endif
}

void winograd_backward_weight_cpu(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                  float* workspace, bool accumulate) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  const WeightRun r = make_weight_run(g);
  float* m = workspace;
  float* v = m + r.m_floats();
  float* yhat = v + r.v_floats();
  float* thread_scratch = yhat + r.yhat_floats();
  const int64_t blocks = r.in_pad / kLanes, rows_total = r.batch * r.tiles_h;
#pragma omp parallel num_threads(r.threads)
  {
    float* scratch = thread_scratch + omp_get_thread_num() * r.thread_floats();
    float* rows = scratch;
    float* e = scratch + 4 * r.row_pixels * kLanes;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < r.m_floats(); ++i) m[i] = 0.0f;
    for (int64_t row0 = 0; row0 < rows_total; row0 += r.group_rows) {
      const int64_t rows_here = std::min(r.group_rows, rows_total - row0), tiles = rows_here * r.tiles_w;
#pragma omp for schedule(static)
      for (int64_t item = 0; item < rows_here * blocks; ++item) {
        const int64_t row = row0 + item / blocks, cb = item % blocks;
        channels_last_rows(r, x, row / r.tiles_h, cb * kLanes, row % r.tiles_h, rows);
        transform_input_row(r, rows, (row - row0) * r.tiles_w, cb * kLanes, v);
      }
#pragma omp for schedule(static)
      for (int64_t o = 0; o < r.out_rows; ++o) transform_dy(r, dy, o, row0, rows_here, yhat, e);
      // Products: each (xi, output block) by one thread, its channels in register tiles.
#pragma omp for schedule(static)
      for (int64_t item = 0; item < 16 * (r.out_rows / kOutTile); ++item) {
        const int64_t xi = item / (r.out_rows / kOutTile), ob = item % (r.out_rows / kOutTile);
        const float* yh = yhat + xi * r.yhat_step + ob * kOutTile * r.ld;
        const float* vx = v + xi * r.v_step;
        float* mx = m + xi * r.m_step + ob * kOutTile * r.in_pad;
        // The channel vectors in tiles of near-equal width (4 = 2 + 2, not 3 + 1: a one-vector tile
        // loads a broadcast per multiply-add).
        const int64_t tiles_c = (blocks + kMaxChannelVectors - 1) / kMaxChannelVectors;
        for (int64_t tc = 0, c = 0; tc < tiles_c; ++tc) {
          const int64_t width = blocks / tiles_c + (tc < blocks % tiles_c ? 1 : 0);
          switch (width) {
            case 3: product_tile<3>(yh, r.ld, vx + c, r.in_pad, tiles, mx + c, r.in_pad); break;
            case 2: product_tile<2>(yh, r.ld, vx + c, r.in_pad, tiles, mx + c, r.in_pad); break;
            default: product_tile<1>(yh, r.ld, vx + c, r.in_pad, tiles, mx + c, r.in_pad); break;
          }
          c += width * kLanes;
        }
      }
    }
#pragma omp for schedule(static)
    for (int64_t o = 0; o < r.out; ++o) transform_to_kernels(r, m, o, dw, accumulate);
  }
#else
  (void)g, (void)x, (void)dy, (void)dw, (void)workspace, (void)accumulate;
#endif
}

}  // namespace frugal
