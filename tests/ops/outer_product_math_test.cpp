// The row arithmetic of the CUDA outer-product scores (ops/outer_product_math.h), run in the CUDA
// kernel's lanes and tree, against the CPU kernel (ops/cpu/outer_product_cpu.h): memory rows
// bit-identical, scores within double rounding of the CPU's sequential sums, rows with and without a
// memory slot, and rows shorter and longer than the lanes.
#include "ops/outer_product_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/outer_product_cpu.h"

namespace frugal {
namespace {

std::vector<float> normals(size_t n, uint64_t step) {
  std::vector<float> v(n);
  rng_normal(rng_key(23, RngStream::Test, step), v.data(), n);
  return v;
}

double lanes_then_tree(std::vector<double> lanes) {
  for (int width = outer_product::kScoreThreads / 2; width > 0; width /= 2)
    for (int lane = 0; lane < width; ++lane) outer_product::tree_level(lanes.data(), width, lane);
  return lanes[0];
}

// What the CUDA kernel computes for row b.
double kernel_score(int64_t b, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy, float* mem_x,
                    float* mem_dy) {
  std::vector<double> sx(outer_product::kScoreThreads), sy(outer_product::kScoreThreads);
  for (int lane = 0; lane < outer_product::kScoreThreads; ++lane) {
    if (b < slots) {
      sx[lane] = outer_product::lane_remember_and_sum(mem_x + b * fx, x + b * fx, fx, lane);
      sy[lane] = outer_product::lane_remember_and_sum(mem_dy + b * fy, dy + b * fy, fy, lane);
    } else {
      sx[lane] = outer_product::lane_sum_of_squares(x + b * fx, fx, lane);
      sy[lane] = outer_product::lane_sum_of_squares(dy + b * fy, fy, lane);
    }
  }
  return outer_product::score(lanes_then_tree(sx), lanes_then_tree(sy));
}

TEST(OuterProductMath, ScoresAndMemoryRowsMatchTheCpuKernel) {
  struct Case {
    int64_t batch, slots, fx, fy;
  };
  const Case cases[] = {{5, 0, 7, 3}, {6, 4, 300, 10}, {9, 9, 1000, 257}, {3, 2, 1, 1}};
  for (const Case& k : cases) {
    const std::vector<float> x = normals(k.batch * k.fx, k.fx), dy = normals(k.batch * k.fy, k.fy + 1);
    const std::vector<float> mx0 = normals(k.batch * k.fx, k.fx + 2), my0 = normals(k.batch * k.fy, k.fy + 3);
    std::vector<float> mx_cpu = mx0, my_cpu = my0, mx = mx0, my = my0;
    std::vector<double> cpu(k.batch);
    outer_product_scores_cpu(k.batch, k.slots, k.fx, k.fy, x.data(), dy.data(), mx_cpu.data(), my_cpu.data(),
                             cpu.data());
    for (int64_t b = 0; b < k.batch; ++b) {
      const double got = kernel_score(b, k.slots, k.fx, k.fy, x.data(), dy.data(), mx.data(), my.data());
      EXPECT_NEAR(got, cpu[b], 1e-12 * cpu[b]) << "row " << b << " of " << k.batch << ", fx " << k.fx;
    }
    EXPECT_EQ(0, std::memcmp(mx.data(), mx_cpu.data(), mx.size() * sizeof(float))) << "memory x, fx " << k.fx;
    EXPECT_EQ(0, std::memcmp(my.data(), my_cpu.data(), my.size() * sizeof(float))) << "memory dy, fy " << k.fy;
  }
}

TEST(OuterProductMath, ARowScoreIsTheProductOfItsSquaredNorms) {
  const float row_x[] = {3.0f, 4.0f}, row_dy[] = {1.0f, 2.0f, 2.0f};
  std::vector<double> sx(outer_product::kScoreThreads), sy(outer_product::kScoreThreads);
  for (int lane = 0; lane < outer_product::kScoreThreads; ++lane) {
    sx[lane] = outer_product::lane_sum_of_squares(row_x, 2, lane);
    sy[lane] = outer_product::lane_sum_of_squares(row_dy, 3, lane);
  }
  EXPECT_EQ(outer_product::score(lanes_then_tree(sx), lanes_then_tree(sy)), 25.0 * 9.0);
}

}  // namespace
}  // namespace frugal
