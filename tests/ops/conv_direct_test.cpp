// The direct stride-1 kernels of ops/cpu/conv_direct.h called on their own (whatever conv_cpu.cpp would
// dispatch), against the float64 reference: padded and unpadded, dilated, non-square, 1xK kernels,
// channel counts that fill neither a register tile nor a vector, and weight gradients summed over
// groups of small samples with a remainder group.
#include "ops/cpu/conv_direct.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/ops/conv_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;

Conv2dGeometry stride1(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                       int64_t pad_h, int64_t pad_w, int64_t dilation = 1) {
  Conv2dGeometry g{n, c, h, w, o, kh, kw};
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.dilation_h = g.dilation_w = dilation;
  return g;
}

struct NamedGeometry {
  std::string name;
  Conv2dGeometry g;
};
void PrintTo(const NamedGeometry& shape, std::ostream* os) { *os << shape.name; }

std::vector<NamedGeometry> direct_shapes() {
  return {
      {"resnet_block_3x3", stride1(2, 16, 32, 32, 16, 3, 3, 1, 1)},
      {"channels_fill_no_tile", stride1(3, 20, 9, 7, 13, 3, 3, 1, 1)},
      {"dilation2", stride1(2, 17, 10, 11, 9, 3, 3, 1, 2, 2)},
      {"unpadded_5x5", stride1(2, 16, 12, 12, 16, 5, 5, 0, 0)},
      {"kernel_1x3", stride1(2, 16, 7, 9, 8, 1, 3, 0, 1)},
      {"small_planes_grouped", stride1(21, 16, 6, 6, 10, 3, 3, 1, 1)},
      {"one_channel_in_and_out", stride1(2, 1, 9, 9, 1, 3, 3, 1, 1)},
  };
}

Conv2dGeometry strided(Conv2dGeometry g, int64_t stride_h, int64_t stride_w) {
  g.stride_h = stride_h;
  g.stride_w = stride_w;
  return g;
}

// Strided convs: forward and weight gradient through the polyphase split of x, backward-data phase
// by phase of dx. Odd sizes, padding 0 and 1, phases no tap reads (1x1), batch 1, channels filling
// no vector.
std::vector<NamedGeometry> strided_shapes() {
  return {
      {"stride2_resnet_downsample", strided(stride1(2, 16, 32, 32, 32, 3, 3, 1, 1), 2, 2)},
      {"stride2_odd_sizes_unpadded", strided(stride1(3, 20, 9, 7, 13, 3, 3, 0, 0), 2, 2)},
      {"stride2_odd_sizes_padded", strided(stride1(2, 17, 11, 13, 9, 3, 3, 1, 1), 2, 2)},
      {"stride2_1x1_reads_one_phase", strided(stride1(2, 16, 15, 16, 24, 1, 1, 0, 0), 2, 2)},
      {"stride2_batch1_one_channel", strided(stride1(1, 1, 9, 9, 3, 3, 3, 1, 1), 2, 2)},
      {"stride_2x3_dilation2", strided(stride1(2, 16, 14, 19, 8, 3, 3, 2, 1, 2), 2, 3)},
      {"stride2_k4_taps_in_every_phase", strided(stride1(21, 16, 8, 8, 5, 4, 4, 1, 1), 2, 2)},
  };
}

class DirectConv : public ::testing::TestWithParam<NamedGeometry> {
 protected:
  const Conv2dGeometry& g() const { return GetParam().g; }
  std::vector<float> x_ = random_floats(test::conv_input_size(g()), 5, 0);
  std::vector<float> w_ = random_floats(test::conv_weight_size(g()), 5, 1);
  std::vector<float> bias_ = random_floats(g().out_channels, 5, 2);
  std::vector<float> dy_ = random_floats(test::conv_output_size(g()), 5, 3);

  // dw starts random: the kernel adds into it.
  void check_weight_gradient() {
    const DirectConvPlan p = direct_forward_plan(g());
    // NaN scratch: every padded value the kernel reads must have been written (zeros included).
    std::vector<float> scratch(direct_weight_grad_scratch_floats(p), std::nanf(""));
    const std::vector<float> dw_before = random_floats(test::conv_weight_size(g()), 5, 4);
    std::vector<float> dw = dw_before;
    const int64_t in_sample = g().in_channels * g().in_h * g().in_w;
    const int64_t out_sample = g().out_channels * g().out_h() * g().out_w();
    for (int64_t n = 0; n < g().batch; n += p.grad_samples)
      direct_weight_grad_samples(p, x_.data() + n * in_sample, dy_.data() + n * out_sample,
                                 std::min(p.grad_samples, g().batch - n), dw.data(),
                                 scratch.data());
    std::vector<double> ref =
        test::reference_conv_backward_weight(g(), to_double(x_), to_double(dy_));
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += dw_before[i];
    EXPECT_LT(max_relative_error(dw, ref), 1e-4);
  }
};

// Runs the plan over the batch one sample at a time; out starts as NaN so missed entries fail.
std::vector<float> run_direct(const DirectConvPlan& p, int64_t batch, const std::vector<float>& in,
                              const std::vector<float>& w, bool transpose_flip, const float* bias) {
  std::vector<float> packed(direct_packed_weight_floats(p)),
      scratch(direct_conv_scratch_floats(p), std::nanf(""));  // read only where written
  pack_direct_weights(p, w.data(), transpose_flip, packed.data());
  const int64_t in_sample = p.in_channels * p.in_h * p.in_w, out_sample = p.out_channels * p.out_h * p.out_w;
  std::vector<float> out(batch * out_sample, std::nanf(""));
  for (int64_t n = 0; n < batch; ++n)
    direct_conv_sample(p, in.data() + n * in_sample, packed.data(), bias, out.data() + n * out_sample,
                       scratch.data());
  return out;
}

TEST_P(DirectConv, ForwardMatchesFloat64Reference) {
  const DirectConvPlan p = direct_forward_plan(g());
  const std::vector<float> y = run_direct(p, g().batch, x_, w_, false, bias_.data());
  EXPECT_LT(max_relative_error(y, test::reference_conv_forward(g(), to_double(x_), to_double(w_),
                                                               to_double(bias_))),
            1e-5);
}

TEST_P(DirectConv, BackwardDataIsTheConvOfDyWithFlippedTransposedWeights) {
  const DirectConvPlan p = direct_backward_data_plan(g());
  ASSERT_EQ(p.out_h, g().in_h);
  ASSERT_EQ(p.out_w, g().in_w);
  const std::vector<float> dx = run_direct(p, g().batch, dy_, w_, true, nullptr);
  EXPECT_LT(max_relative_error(dx, test::reference_conv_backward_data(g(), to_double(dy_), to_double(w_))),
            1e-4);
}

TEST_P(DirectConv, WeightGradientSumsSampleGroupsIntoDw) { check_weight_gradient(); }

// Without a bias the tiles are stored straight into y (masked row segments); with a zero bias they go
// through the wide buffer and the copy that adds it: the same values, and every entry written (y
// starts as NaN).
TEST_P(DirectConv, ForwardIntoThePlanesEqualsTheCopyOutOfTheWideGrid) {
  const DirectConvPlan p = direct_forward_plan(g());
  const std::vector<float> zeros(g().out_channels, 0.0f);
  EXPECT_EQ(run_direct(p, g().batch, x_, w_, false, nullptr), run_direct(p, g().batch, x_, w_, false, zeros.data()));
}

// The dense grid computes every output pixel as the same sum in the same order as the wide grid:
// the same bits, forward (without a bias in place in y, with one through the copy) and backward-data.
TEST_P(DirectConv, DenseGridGivesTheWideGridsBits) {
  const DirectConvPlan forward = dense_grid_plan(direct_forward_plan(g()));
  const DirectConvPlan backward = dense_grid_plan(direct_backward_data_plan(g()));
  if (!forward.dense && !backward.dense) GTEST_SKIP() << "input planes too big for the dense grid";
  EXPECT_EQ(run_direct(forward, g().batch, x_, w_, false, bias_.data()),
            run_direct(direct_forward_plan(g()), g().batch, x_, w_, false, bias_.data()));
  EXPECT_EQ(run_direct(forward, g().batch, x_, w_, false, nullptr),
            run_direct(direct_forward_plan(g()), g().batch, x_, w_, false, nullptr));
  EXPECT_EQ(run_direct(backward, g().batch, dy_, w_, true, nullptr),
            run_direct(direct_backward_data_plan(g()), g().batch, dy_, w_, true, nullptr));
}

INSTANTIATE_TEST_SUITE_P(Shapes, DirectConv, ::testing::ValuesIn(direct_shapes()),
                         [](const auto& info) { return info.param.name; });

class DirectStridedConv : public DirectConv {};

TEST_P(DirectStridedConv, ForwardMatchesFloat64Reference) {
  const DirectConvPlan p = direct_forward_plan(g());
  ASSERT_EQ(p.out_h, g().out_h());
  ASSERT_EQ(p.out_w, g().out_w());
  const std::vector<float> y = run_direct(p, g().batch, x_, w_, false, bias_.data());
  EXPECT_LT(max_relative_error(y, test::reference_conv_forward(g(), to_double(x_), to_double(w_),
                                                               to_double(bias_))),
            1e-5);
}

TEST_P(DirectStridedConv, BackwardDataSumsEachPhaseOfDx) {
  const std::vector<DirectDataPhase> phases = direct_strided_backward_data_plan(g());
  std::vector<float> packed(direct_strided_packed_weight_floats(phases));
  std::vector<float> scratch(direct_strided_scratch_floats(phases));
  pack_direct_strided_weights(g(), phases, w_.data(), packed.data());
  const int64_t dx_sample = g().in_channels * g().in_h * g().in_w;
  const int64_t dy_sample = g().out_channels * g().out_h() * g().out_w();
  std::vector<float> dx(g().batch * dx_sample, std::nanf(""));  // every entry must be written
  for (int64_t n = 0; n < g().batch; ++n)
    direct_strided_backward_data_sample(g(), phases, dy_.data() + n * dy_sample, packed.data(),
                                        dx.data() + n * dx_sample, scratch.data());
  EXPECT_LT(max_relative_error(
                dx, test::reference_conv_backward_data(g(), to_double(dy_), to_double(w_))),
            1e-4);
}

TEST_P(DirectStridedConv, WeightGradientSumsSampleGroupsIntoDw) { check_weight_gradient(); }

INSTANTIATE_TEST_SUITE_P(Shapes, DirectStridedConv, ::testing::ValuesIn(strided_shapes()),
                         [](const auto& info) { return info.param.name; });

TEST(DirectConvPlan, SmallPlanesGroupSamplesForTheWeightGradient) {
  EXPECT_EQ(direct_forward_plan(stride1(64, 16, 32, 32, 16, 3, 3, 1, 1)).grad_samples, 1);
  EXPECT_GT(direct_forward_plan(stride1(64, 64, 8, 8, 64, 3, 3, 1, 1)).grad_samples, 1);
}

TEST(DirectConvPlan, DenseGridOnlyWhereItsShiftedInputPlanesFitInL1) {
  const DirectConvPlan first_layer = dense_grid_plan(direct_forward_plan(stride1(8, 1, 28, 28, 32, 3, 3, 1, 1)));
  EXPECT_TRUE(first_layer.dense);
  EXPECT_EQ(first_layer.wide_pixels, 28 * 28);  // no discarded columns
  EXPECT_FALSE(dense_grid_plan(direct_forward_plan(stride1(8, 64, 8, 8, 64, 3, 3, 1, 1))).dense);
  EXPECT_FALSE(dense_grid_plan(direct_forward_plan(strided(stride1(8, 1, 28, 28, 32, 3, 3, 1, 1), 2, 2))).dense);
}

TEST(DirectConvApplies, NeedsOneGroupAndAnImageBigEnoughForTheWideGrid) {
  EXPECT_TRUE(direct_conv_applies(stride1(8, 16, 32, 32, 16, 3, 3, 1, 1)));
  EXPECT_TRUE(direct_conv_applies(strided(stride1(8, 16, 32, 32, 16, 3, 3, 1, 1), 2, 2)));
  EXPECT_FALSE(direct_backward_data_applies(strided(stride1(8, 16, 32, 32, 16, 3, 3, 1, 1), 2, 2)));
  Conv2dGeometry grouped = stride1(8, 16, 32, 32, 16, 3, 3, 1, 1);
  grouped.groups = 2;
  EXPECT_FALSE(direct_conv_applies(grouped));
  EXPECT_FALSE(direct_conv_applies(stride1(8, 512, 4, 4, 512, 3, 3, 1, 1)));  // 2 of 6 columns wasted
}

TEST(DirectConvApplies, BackwardDataNeedsPaddingWithinTheDilatedKernel) {
  EXPECT_TRUE(direct_backward_data_applies(stride1(8, 16, 12, 12, 16, 3, 3, 2, 2)));
  EXPECT_FALSE(direct_backward_data_applies(stride1(8, 16, 12, 12, 16, 3, 3, 3, 3)));
}

TEST(DirectConvApplies, StridedBackwardDataNeedsAStrideAndAnImageBigEnoughForItsPhases) {
  EXPECT_TRUE(
      direct_strided_backward_data_applies(strided(stride1(8, 16, 32, 32, 32, 3, 3, 1, 1), 2, 2)));
  EXPECT_FALSE(direct_strided_backward_data_applies(stride1(8, 16, 32, 32, 32, 3, 3, 1, 1)));
  EXPECT_FALSE(
      direct_strided_backward_data_applies(strided(stride1(8, 256, 8, 8, 512, 3, 3, 1, 1), 2, 2)));
}

TEST(DirectConvApplies, StridedWeightGradientNeedsOutputsOfAtLeast8x8) {
  EXPECT_TRUE(direct_weight_grad_applies(strided(stride1(8, 32, 16, 16, 64, 3, 3, 1, 1), 2, 2)));
  EXPECT_FALSE(direct_weight_grad_applies(strided(stride1(8, 256, 8, 8, 512, 3, 3, 1, 1), 2, 2)));
  EXPECT_TRUE(direct_weight_grad_applies(stride1(8, 512, 4, 4, 512, 3, 3, 1, 1)));
}

}  // namespace
}  // namespace frugal
