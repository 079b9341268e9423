// Elementwise kernels over n contiguous floats (contracts: ops/cpu/elementwise_cpu.h). Each element's
// result is one or two float operations, written as the CPU loops write them.
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"

namespace frugal::cuda {

void add(int64_t n, const float* a, const float* b, float* y) {
  for_each_index(n, "add", [=] __device__(int64_t i) { y[i] = a[i] + b[i]; });
}

void add_inplace(int64_t n, float* y, const float* x) {
  for_each_index(n, "add_inplace", [=] __device__(int64_t i) { y[i] += x[i]; });
}

void scale(int64_t n, float alpha, const float* x, float* y) {
  for_each_index(n, "scale", [=] __device__(int64_t i) { y[i] = alpha * x[i]; });
}

void copy(int64_t n, const float* x, float* y) {
  if (n > 0 && x != y)
    check(cudaMemcpyAsync(y, x, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, compute_stream()),
          "cudaMemcpyAsync (copy)");
}

void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b) {
  if (y_a && y_b) {
    for_each_index(n, "copy_to_two", [=] __device__(int64_t i) {
      const float v = x[i];
      y_a[i] = v;
      y_b[i] = v;
    });
    return;
  }
  if (y_a || y_b) copy(n, x, y_a ? y_a : y_b);
}

void add_relu(int64_t n, const float* a, const float* b, float* z) {
  for_each_index(n, "add_relu", [=] __device__(int64_t i) {
    const float y = a[i] + b[i];
    z[i] = y < 0.0f ? 0.0f : y;
  });
}

void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) {
  if (!y_a && !y_b) return;
  float* first = y_a ? y_a : y_b;
  float* second = y_a && y_b ? y_b : nullptr;
  for_each_index(n, "relu_grad_to_two", [=] __device__(int64_t i) {
    const float g = z[i] > 0.0f ? dz[i] : 0.0f;
    first[i] = g;
    if (second) second[i] = g;
  });
}

void fill_bytes(void* dst, uint8_t value, size_t bytes) {
  if (bytes) check(cudaMemsetAsync(dst, value, bytes, compute_stream()), "cudaMemsetAsync (fill_bytes)");
}

namespace {
__global__ void increment_kernel(int64_t* counter) { *counter += 1; }
}  // namespace

void increment(int64_t* counter) {
  increment_kernel<<<1, 1, 0, compute_stream()>>>(counter);
  check(cudaGetLastError(), "increment");
}

}  // namespace frugal::cuda
