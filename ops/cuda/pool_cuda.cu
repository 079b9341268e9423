// 2-D max / average pooling and global average pooling over NCHW (contracts: ops/cpu/pool_cpu.h). One
// thread per output (forward) or per input element (backward: a gather over the windows that cover
// it, so no atomics); the window arithmetic is ops/pool_math.h, shared with the CPU tests.
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"
#include "ops/pool_math.h"

namespace frugal::cuda {
namespace pm = pool_math;

void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) {
  const int64_t out_w = g.out_w(), out_plane = g.out_h() * out_w, in_plane = g.in_h * g.in_w;
  for_each_index(g.batch * g.channels * out_plane, "maxpool2d_forward", [=] __device__(int64_t i) {
    const int64_t p = i / out_plane, o = i - p * out_plane, oh = o / out_w;
    y[i] = pm::window_max(g, x + p * in_plane, oh, o - oh * out_w, argmax ? argmax + i : nullptr);
  });
}

void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx) {
  const int64_t out_h = g.out_h(), out_w = g.out_w(), out_plane = out_h * out_w, in_plane = g.in_h * g.in_w;
  for_each_index(g.batch * g.channels * in_plane, "maxpool2d_backward", [=] __device__(int64_t i) {
    const int64_t p = i / in_plane, at = i - p * in_plane, h = at / g.in_w;
    dx[i] = pm::max_backward_at(g, out_h, out_w, dy + p * out_plane, argmax + p * out_plane, h, at - h * g.in_w);
  });
}

void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y) {
  const int64_t out_w = g.out_w(), out_plane = g.out_h() * out_w, in_plane = g.in_h * g.in_w;
  for_each_index(g.batch * g.channels * out_plane, "avgpool2d_forward", [=] __device__(int64_t i) {
    const int64_t p = i / out_plane, o = i - p * out_plane, oh = o / out_w;
    y[i] = pm::window_mean(g, x + p * in_plane, oh, o - oh * out_w);
  });
}

void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx) {
  const int64_t out_h = g.out_h(), out_w = g.out_w(), out_plane = out_h * out_w, in_plane = g.in_h * g.in_w;
  for_each_index(g.batch * g.channels * in_plane, "avgpool2d_backward", [=] __device__(int64_t i) {
    const int64_t p = i / in_plane, at = i - p * in_plane, h = at / g.in_w;
    dx[i] = pm::avg_backward_at(g, out_h, out_w, dy + p * out_plane, h, at - h * g.in_w);
  });
}

namespace {

constexpr int kWarpsPerBlock = 8;

// One warp per plane of S values. Lane l sums the values at l, l + 32, ... in double, then the lanes
// combine pairwise (l += l + 16, then + 8, ...): the CPU's 32 summation lanes and their combining order
// (ops/cpu/channel_sums.cpp), so the mean has the CPU's bits.
__global__ void global_avgpool_forward_kernel(int64_t planes, int64_t s, const float* x, float* y) {
  const int64_t plane = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (plane >= planes) return;  // a whole warp leaves together
  const float* xp = x + plane * s;
  double sum = 0.0;
  for (int64_t j = lane; j < s; j += 32) sum += static_cast<double>(xp[j]);
  for (int width = 16; width > 0; width /= 2) sum += __shfl_down_sync(0xffffffffu, sum, width);
  if (lane == 0) y[plane] = pm::global_mean(sum, s);
}

}  // namespace

void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y) {
  const int64_t planes = n * c;
  if (planes <= 0) return;
  const auto blocks = static_cast<unsigned>((planes + kWarpsPerBlock - 1) / kWarpsPerBlock);
  global_avgpool_forward_kernel<<<blocks, 32 * kWarpsPerBlock, 0, compute_stream()>>>(planes, s, x, y);
  check(cudaGetLastError(), "global_avgpool_forward");
}

void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) {
  for_each_index(n * c * s, "global_avgpool_backward",
                 [=] __device__(int64_t i) { dx[i] = pm::global_share(dy[i / s], s); });
}

}  // namespace frugal::cuda
