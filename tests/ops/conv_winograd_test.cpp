// Winograd F(2x2, 3x3) convolution against the float64 reference: forward (with bias),
// backward-data and the weight gradient, odd image sizes, channel counts off the tile sizes, one and three threads.
#include "ops/cpu/conv_winograd.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/ops/conv_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;

Conv2dGeometry same_3x3(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o) {
  Conv2dGeometry g{n, c, h, w, o, 3, 3};
  g.pad_h = g.pad_w = 1;
  return g;
}

struct Case {
  std::string name;
  Conv2dGeometry g;
  int threads;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class WinogradConv : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    previous_threads_ = omp_get_max_threads();
    omp_set_num_threads(GetParam().threads);
  }
  void TearDown() override { omp_set_num_threads(previous_threads_); }
  const Conv2dGeometry& g() const { return GetParam().g; }
  int previous_threads_ = 1;
};

TEST_P(WinogradConv, ForwardMatchesFloat64Reference) {
  ASSERT_TRUE(winograd_applies(g()));
  const auto x = random_floats(test::conv_input_size(g()), 1, 0), w = random_floats(test::conv_weight_size(g()), 1, 1),
             bias = random_floats(g().out_channels, 1, 2);
  std::vector<float> ws(winograd_workspace_floats(g())), y(test::conv_output_size(g()), std::nanf(""));
  winograd_forward_cpu(g(), x.data(), w.data(), bias.data(), y.data(), ws.data());
  const auto ref = test::reference_conv_forward(g(), to_double(x), to_double(w), to_double(bias));
  EXPECT_LT(max_relative_error(y, ref), 1e-5);
}

TEST_P(WinogradConv, BackwardDataMatchesFloat64Reference) {
  const auto w = random_floats(test::conv_weight_size(g()), 2, 1), dy = random_floats(test::conv_output_size(g()), 2, 3);
  std::vector<float> ws(winograd_workspace_floats(g())), dx(test::conv_input_size(g()), std::nanf(""));
  winograd_backward_data_cpu(g(), dy.data(), w.data(), dx.data(), ws.data());
  const auto ref = test::reference_conv_backward_data(g(), to_double(dy), to_double(w));
  EXPECT_LT(max_relative_error(dx, ref), 1e-5);
}

TEST_P(WinogradConv, WeightGradientMatchesFloat64ReferenceAndAccumulates) {
  if (!winograd_weight_grad_applies(g())) GTEST_SKIP() << "the direct kernels compute this weight gradient (under 64 channels, or no AVX-512)";
  const auto x = random_floats(test::conv_input_size(g()), 4, 0), dy = random_floats(test::conv_output_size(g()), 4, 3);
  std::vector<float> ws(winograd_weight_grad_workspace_floats(g()), std::nanf("")),
      dw(test::conv_weight_size(g()), std::nanf(""));
  winograd_backward_weight_cpu(g(), x.data(), dy.data(), dw.data(), ws.data(), false);
  auto ref = test::reference_conv_backward_weight(g(), to_double(x), to_double(dy));
  EXPECT_LT(max_relative_error(dw, ref), 1e-5);
  winograd_backward_weight_cpu(g(), x.data(), dy.data(), dw.data(), ws.data(), true);  // adds a second
  for (double& r : ref) r *= 2;
  EXPECT_LT(max_relative_error(dw, ref), 1e-5);
}

TEST_P(WinogradConv, WeightGradientIsTheSameBitsForAnyThreadCount) {
  if (!winograd_weight_grad_applies(g())) GTEST_SKIP() << "the direct kernels compute this weight gradient (under 64 channels, or no AVX-512)";
  const auto x = random_floats(test::conv_input_size(g()), 5, 0), dy = random_floats(test::conv_output_size(g()), 5, 3);
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<float> ws(winograd_weight_grad_workspace_floats(g())), dw(test::conv_weight_size(g()));
    winograd_backward_weight_cpu(g(), x.data(), dy.data(), dw.data(), ws.data(), false);
    return dw;
  };
  const auto one = run(1);
  EXPECT_TRUE(test::bit_identical(one, run(3)));
}

TEST_P(WinogradConv, RepeatedRunsAreBitIdentical) {
  const auto x = random_floats(test::conv_input_size(g()), 3, 0), w = random_floats(test::conv_weight_size(g()), 3, 1);
  auto run = [&] {
    std::vector<float> ws(winograd_workspace_floats(g())), y(test::conv_output_size(g()));
    winograd_forward_cpu(g(), x.data(), w.data(), nullptr, y.data(), ws.data());
    return y;
  };
  EXPECT_TRUE(test::bit_identical(run(), run()));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, WinogradConv,
    ::testing::Values(Case{"even_8x8", same_3x3(2, 128, 8, 8, 128), 1},
                      Case{"odd_7x5_more_outputs", same_3x3(3, 128, 7, 5, 136), 3},
                      Case{"batch1_single_chunk", same_3x3(1, 130, 6, 9, 128), 3},
                      Case{"tile_groups_across_samples", same_3x3(5, 128, 18, 14, 128), 1},
                      Case{"fewer_tiles_than_a_minimum_group", same_3x3(1, 128, 3, 2, 128), 1},
                      // Rows of more than one vector of tiles (17), an odd width, outputs off the
                      // register tile (36 -> 40 rows), and groups of whole rows across samples.
                      Case{"few_channels_wide_rows", same_3x3(3, 32, 34, 33, 36), 2},
                      Case{"few_channels_small_maps", same_3x3(7, 40, 4, 6, 32), 1},
                      // Rows of whole vectors of tiles (32 a row), transformed in registers; odd sizes.
                      Case{"rows_of_whole_vectors", same_3x3(3, 32, 7, 63, 40), 2},
                      // The weight gradient's smallest channels (64 -> 72: channel vectors 2 + 2, outputs
                      // off the register tile) over rows of 17 tiles and an odd width.
                      Case{"weight_grad_wide_rows", same_3x3(2, 64, 34, 33, 72), 2}),
    [](const auto& info) { return info.param.name; });

TEST(WinogradApplies, OnlyTo3x3StrideOnePadOneConvsWithEnoughChannelsWhenAllowed) {
  EXPECT_TRUE(winograd_applies(same_3x3(2, 128, 8, 8, 256)));
  EXPECT_TRUE(winograd_applies(same_3x3(2, 32, 16, 16, 32)));
  EXPECT_FALSE(winograd_applies(same_3x3(2, 16, 8, 8, 128)));  // too few channels for the transforms to pay
  Conv2dGeometry g = same_3x3(2, 128, 8, 8, 128);
  g.stride_h = g.stride_w = 2;
  EXPECT_FALSE(winograd_applies(g));
  g = same_3x3(2, 128, 8, 8, 128);
  g.pad_h = 0;
  EXPECT_FALSE(winograd_applies(g));
  g = same_3x3(2, 128, 8, 8, 128);
  g.winograd = false;
  EXPECT_FALSE(winograd_applies(g));
}

TEST(WinogradApplies, ConvWorkspaceHoldsBothWinogradAndTheOtherKernels) {
  // So a plan made with Winograd on stays big enough when a conv turns it off.
  Conv2dGeometry g = same_3x3(8, 128, 16, 16, 128);
  Conv2dGeometry without = g;
  without.winograd = false;
  EXPECT_GE(conv2d_forward_workspace_floats(g), winograd_workspace_floats(g));
  EXPECT_GE(conv2d_forward_workspace_floats(g), conv2d_forward_workspace_floats(without));
  EXPECT_GE(conv2d_backward_workspace_floats(g), conv2d_backward_workspace_floats(without));
}

}  // namespace
}  // namespace frugal
