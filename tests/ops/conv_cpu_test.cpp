// Conv2d CPU kernels against the float64 reference in conv_test_util.h, on shapes that cover odd sizes,
// stride, padding, dilation, groups, depthwise, 1x1 and non-square inputs and kernels, each on one
// batch chunk (1 thread) and on three (which also exercises the partial-gradient reduction, and for a
// batch of one, GEMMs split over the threads).
#include "ops/cpu/conv_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/conv.h"
#include "tests/ops/conv_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;

constexpr double kForwardTolerance = 1e-5;
constexpr double kBackwardTolerance = 1e-4;
constexpr float kGuard = -12345.0f;  // written after the workspace; a kernel that overruns changes it

Conv2dGeometry geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                        int64_t stride = 1, int64_t pad = 0, int64_t dilation = 1, int64_t groups = 1) {
  Conv2dGeometry g{n, c, h, w, o, kh, kw};
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  g.dilation_h = g.dilation_w = dilation;
  g.groups = groups;
  return g;
}

// Sets the OpenMP thread count for one test and restores it afterwards.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ThreadCountScope() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

// A workspace of exactly conv2d_workspace_floats(g) floats followed by guard values.
struct GuardedWorkspace {
  explicit GuardedWorkspace(const Conv2dGeometry& g)
      : size(conv2d_workspace_floats(g)), buffer(size + 64, kGuard) {}
  float* data() { return buffer.data(); }
  bool guard_intact() const {
    for (size_t i = size; i < buffer.size(); ++i)
      if (buffer[i] != kGuard) return false;
    return true;
  }
  size_t size;
  std::vector<float> buffer;
};

// Random operands of one conv problem; outputs start as NaN so untouched entries fail the comparison.
struct ConvProblem {
  explicit ConvProblem(const Conv2dGeometry& geom, uint64_t seed = 7)
      : g(geom),
        x(random_floats(test::conv_input_size(g), seed, 0)),
        w(random_floats(test::conv_weight_size(g), seed, 1)),
        bias(random_floats(g.out_channels, seed, 2)),
        dy(random_floats(test::conv_output_size(g), seed, 3)) {}
  Conv2dGeometry g;
  std::vector<float> x, w, bias, dy;
};

std::vector<float> nan_filled(int64_t n) { return std::vector<float>(n, std::nanf("")); }

struct NamedGeometry {
  std::string name;
  Conv2dGeometry g;
};
// Names the shape in failure messages instead of dumping its bytes.
void PrintTo(const NamedGeometry& shape, std::ostream* os) { *os << shape.name; }

Conv2dGeometry non_square() {  // H != W, KH != KW, per-axis stride, padding and dilation
  Conv2dGeometry g = geometry(2, 3, 6, 13, 5, 2, 5);
  g.stride_w = 2;
  g.pad_w = 2;
  g.dilation_h = 2;
  return g;
}

Conv2dGeometry one_row_image() {  // [N, C, 1, 7] with a 1x3 kernel padded along W only
  Conv2dGeometry g = geometry(3, 3, 1, 7, 4, 1, 3);
  g.pad_w = 1;
  return g;
}

std::vector<NamedGeometry> conv_shapes() {
  return {
      {"k3_pad1", geometry(2, 3, 8, 8, 4, 3, 3, 1, 1)},
      {"odd_sizes_stride2", geometry(3, 5, 11, 9, 7, 3, 3, 2, 1)},
      {"dilation2", geometry(2, 4, 10, 12, 6, 3, 3, 1, 2, 2)},
      {"dilation5_outer_taps_only_read_padding", geometry(2, 2, 3, 3, 2, 3, 3, 1, 5, 5)},
      {"one_row_image", one_row_image()},
      {"groups2", geometry(2, 6, 7, 7, 4, 3, 3, 1, 1, 1, 2)},
      {"groups3_channel_multiplier", geometry(5, 6, 6, 5, 9, 3, 3, 1, 0, 1, 3)},
      {"depthwise_stride2", geometry(2, 8, 9, 9, 8, 3, 3, 2, 1, 1, 8)},
      {"pointwise_1x1", geometry(4, 16, 5, 6, 8, 1, 1)},
      {"pointwise_1x1_stride2", geometry(2, 6, 7, 7, 5, 1, 1, 2)},
      {"pointwise_1x1_groups2", geometry(3, 8, 4, 5, 6, 1, 1, 1, 0, 1, 2)},
      {"non_square", non_square()},
      {"batch1", geometry(1, 3, 8, 8, 4, 3, 3, 1, 1)},
      {"batch1_gemms_split_over_threads", geometry(1, 32, 20, 20, 32, 3, 3, 1, 1)},
      {"kernel_fills_padded_input", geometry(2, 2, 4, 4, 3, 6, 6, 1, 1)},
      {"wide_channels_k5", geometry(4, 32, 12, 12, 24, 5, 5, 1, 2)},
      {"im2col_in_four_bands", geometry(2, 64, 40, 40, 8, 3, 3, 1, 1)},
      {"im2col_in_two_bands_stride2", geometry(2, 128, 33, 33, 8, 3, 3, 2, 1)},
      // Batches of at least 3 with 16+ channels take the direct stride-1 kernels on 1 and 3
      // threads.
      {"direct_resnet_block", geometry(3, 16, 16, 16, 16, 3, 3, 1, 1)},
      {"direct_odd_channels_dilation2", geometry(4, 19, 11, 10, 13, 3, 3, 1, 2, 2)},
      {"direct_small_planes_batch_remainder", geometry(19, 16, 6, 6, 8, 3, 3, 1, 1)},
      {"direct_pad_beyond_kernel_reach", geometry(3, 16, 8, 8, 16, 3, 3, 1, 3)},
      // Small images put several samples' im2col columns side by side in one GEMM (a remainder
      // group on 1 and 3 threads).
      {"im2col_samples_side_by_side", geometry(7, 16, 5, 5, 24, 3, 3, 1, 1)},
      {"im2col_samples_side_by_side_groups2_stride2", geometry(6, 32, 7, 6, 10, 3, 3, 2, 0, 1, 2)},
      // A batch larger than the column budget holds splits into uneven sample groups (8 + 7 on 1
      // thread, 3 + 2 per chunk on 3).
      {"im2col_sample_groups_over_budget", geometry(15, 1024, 4, 4, 16, 3, 3, 1, 1, 1, 2)},
      // 4x4 outputs of a deep patch: the weight gradient takes the GEMM, not the direct kernel.
      {"small_image_weight_grad_by_gemm", geometry(5, 128, 4, 4, 16, 3, 3, 1, 1)},
      // Strided convs take the direct kernels through a polyphase split.
      {"direct_stride2_resnet_downsample", geometry(3, 16, 16, 16, 32, 3, 3, 2, 1)},
      {"direct_stride2_odd_sizes_unpadded", geometry(4, 17, 13, 11, 9, 3, 3, 2, 0)},
      {"stride2_1x1_shortcut_subsamples", geometry(3, 16, 15, 15, 24, 1, 1, 2, 0)},
      {"direct_stride3_k5_dilation2", geometry(3, 16, 17, 16, 8, 5, 5, 3, 2, 2)},
  };
}

class ConvCpuShapes : public ::testing::TestWithParam<std::tuple<NamedGeometry, int>> {
 protected:
  const Conv2dGeometry& g() const { return std::get<0>(GetParam()).g; }
  ThreadCountScope threads_{std::get<1>(GetParam())};
};

TEST_P(ConvCpuShapes, ForwardMatchesFloat64Reference) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  std::vector<float> y = nan_filled(test::conv_output_size(g()));
  conv2d_forward_cpu(g(), p.x.data(), p.w.data(), p.bias.data(), y.data(), ws.data());
  const auto ref = test::reference_conv_forward(g(), to_double(p.x), to_double(p.w), to_double(p.bias));
  EXPECT_LT(max_relative_error(y, ref), kForwardTolerance);
  EXPECT_TRUE(ws.guard_intact());
}

TEST_P(ConvCpuShapes, ForwardWithoutBiasMatchesFloat64Reference) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  std::vector<float> y = nan_filled(test::conv_output_size(g()));
  conv2d_forward_cpu(g(), p.x.data(), p.w.data(), nullptr, y.data(), ws.data());
  const auto ref = test::reference_conv_forward(g(), to_double(p.x), to_double(p.w), {});
  EXPECT_LT(max_relative_error(y, ref), kForwardTolerance);
}

TEST_P(ConvCpuShapes, BackwardDataMatchesFloat64Reference) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  std::vector<float> dx = nan_filled(test::conv_input_size(g()));
  conv2d_backward_data_cpu(g(), p.dy.data(), p.w.data(), dx.data(), ws.data());
  const auto ref = test::reference_conv_backward_data(g(), to_double(p.dy), to_double(p.w));
  EXPECT_LT(max_relative_error(dx, ref), kBackwardTolerance);
  EXPECT_TRUE(ws.guard_intact());
}

TEST_P(ConvCpuShapes, BackwardWeightAndBiasMatchFloat64Reference) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  std::vector<float> dw = nan_filled(test::conv_weight_size(g()));
  std::vector<float> db = nan_filled(g().out_channels);
  conv2d_backward_weight_cpu(g(), p.x.data(), p.dy.data(), dw.data(), db.data(), ws.data(), false);
  EXPECT_LT(
      max_relative_error(dw, test::reference_conv_backward_weight(g(), to_double(p.x), to_double(p.dy))),
      kBackwardTolerance);
  EXPECT_LT(max_relative_error(db, test::reference_conv_backward_bias(g(), to_double(p.dy))),
            kBackwardTolerance);
  EXPECT_TRUE(ws.guard_intact());
}

TEST_P(ConvCpuShapes, BackwardWeightWithoutBiasComputesOnlyWeightGradient) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  std::vector<float> dw = nan_filled(test::conv_weight_size(g()));
  conv2d_backward_weight_cpu(g(), p.x.data(), p.dy.data(), dw.data(), nullptr, ws.data(), false);
  EXPECT_LT(
      max_relative_error(dw, test::reference_conv_backward_weight(g(), to_double(p.x), to_double(p.dy))),
      kBackwardTolerance);
  EXPECT_TRUE(ws.guard_intact());
}

TEST_P(ConvCpuShapes, BackwardWeightAccumulateAddsIntoExistingGradients) {
  ConvProblem p(g());
  GuardedWorkspace ws(g());
  const std::vector<float> dw_before = random_floats(test::conv_weight_size(g()), 11);
  const std::vector<float> db_before = random_floats(g().out_channels, 12);
  std::vector<float> dw = dw_before, db = db_before;
  conv2d_backward_weight_cpu(g(), p.x.data(), p.dy.data(), dw.data(), db.data(), ws.data(), true);
  std::vector<double> dw_ref =
      test::reference_conv_backward_weight(g(), to_double(p.x), to_double(p.dy));
  std::vector<double> db_ref = test::reference_conv_backward_bias(g(), to_double(p.dy));
  for (size_t i = 0; i < dw_ref.size(); ++i) dw_ref[i] += dw_before[i];
  for (size_t i = 0; i < db_ref.size(); ++i) db_ref[i] += db_before[i];
  EXPECT_LT(max_relative_error(dw, dw_ref), kBackwardTolerance);
  EXPECT_LT(max_relative_error(db, db_ref), kBackwardTolerance);
}

std::string shape_test_name(const ::testing::TestParamInfo<std::tuple<NamedGeometry, int>>& info) {
  return std::get<0>(info.param).name + "_threads" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvCpuShapes,
                         ::testing::Combine(::testing::ValuesIn(conv_shapes()), ::testing::Values(1, 3)),
                         shape_test_name);

// --- Hand-checked values: pin the conv semantics (cross-correlation, OIHW, padding with zeros). -----

TEST(ConvCpu, ForwardComputesStridedWindowSums) {
  // x = 1..16 as a 4x4 image, a 2x2 kernel of ones, stride 2: each output sums one 2x2 block.
  const Conv2dGeometry g = geometry(1, 1, 4, 4, 1, 2, 2, 2);
  std::vector<float> x(16), w(4, 1.0f), y(4);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i + 1);
  std::vector<float> ws(conv2d_workspace_floats(g));
  conv2d_forward_cpu(g, x.data(), w.data(), nullptr, y.data(), ws.data());
  EXPECT_EQ(y, (std::vector<float>{14, 22, 46, 54}));
}

TEST(ConvCpu, ForwardIsCrossCorrelationWithZeroPaddingAndDilation) {
  // 3x3 image, kernel [[1, 2], [3, 4]] dilated by 2 with padding 1: output (0,0) reads x(-1,-1),
  // x(-1,1), x(1,-1), x(1,1) -> only x(1,1) = 5 is inside, times the kernel's last tap 4.
  Conv2dGeometry g = geometry(1, 1, 3, 3, 1, 2, 2, 1, 1, 2);
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 2, 3, 4}, bias = {0.5f}, y(9);
  std::vector<float> ws(conv2d_workspace_floats(g));
  ASSERT_EQ(g.out_h(), 3);
  conv2d_forward_cpu(g, x.data(), w.data(), bias.data(), y.data(), ws.data());
  EXPECT_FLOAT_EQ(y[0], 0.5f + 4 * 5);
  // Centre output (1,1) reads x(0,0), x(0,2), x(2,0), x(2,2) = 1, 3, 7, 9.
  EXPECT_FLOAT_EQ(y[4], 0.5f + 1 * 1 + 2 * 3 + 3 * 7 + 4 * 9);
}

// --- The reference itself: its backward passes are the gradients of sum(forward * r). -----------

// Central differences of L = sum(y * r) in float64 with respect to every element of `param`.
std::vector<double> central_differences(std::vector<double>& param,
                                        const std::function<double()>& loss) {
  const double h = 1e-3;
  std::vector<double> grad(param.size());
  for (size_t i = 0; i < param.size(); ++i) {
    const double saved = param[i];
    param[i] = saved + h;
    const double up = loss();
    param[i] = saved - h;
    const double down = loss();
    param[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

class ConvReference : public ::testing::TestWithParam<NamedGeometry> {};

TEST_P(ConvReference, BackwardPassesMatchCentralDifferencesOfTheForward) {
  const Conv2dGeometry& g = GetParam().g;
  ConvProblem p(g, 21);
  std::vector<double> x = to_double(p.x), w = to_double(p.w), b = to_double(p.bias), r = to_double(p.dy);
  auto loss = [&] {
    const std::vector<double> y = test::reference_conv_forward(g, x, w, b);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += y[i] * r[i];
    return sum;
  };
  const double tolerance = 1e-8;  // L is linear in each operand, so only rounding separates them
  EXPECT_LT(
      max_abs_difference(central_differences(x, loss), test::reference_conv_backward_data(g, r, w)),
      tolerance);
  EXPECT_LT(
      max_abs_difference(central_differences(w, loss), test::reference_conv_backward_weight(g, x, r)),
      tolerance);
  EXPECT_LT(max_abs_difference(central_differences(b, loss), test::reference_conv_backward_bias(g, r)),
            tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvReference,
    ::testing::Values(NamedGeometry{"stride2_pad1", geometry(2, 3, 7, 6, 4, 3, 3, 2, 1)},
                      NamedGeometry{"dilation2_groups2", geometry(2, 4, 7, 7, 4, 3, 3, 1, 2, 2, 2)},
                      NamedGeometry{"non_square", non_square()}),
    [](const auto& info) { return info.param.name; });

// --- Determinism, workspace, FLOPs. ----------------------------------------------------------------

void expect_repeats_bit_identically(const Conv2dGeometry& g) {
  ConvProblem p(g);
  auto run = [&] {
    std::vector<float> ws(conv2d_workspace_floats(g));
    std::vector<float> y(test::conv_output_size(g)), dx(test::conv_input_size(g));
    std::vector<float> dw(test::conv_weight_size(g)), db(g.out_channels);
    conv2d_forward_cpu(g, p.x.data(), p.w.data(), p.bias.data(), y.data(), ws.data());
    conv2d_backward_data_cpu(g, p.dy.data(), p.w.data(), dx.data(), ws.data());
    conv2d_backward_weight_cpu(g, p.x.data(), p.dy.data(), dw.data(), db.data(), ws.data(), false);
    return std::vector<std::vector<float>>{y, dx, dw, db};
  };
  const auto first = run();
  const auto second = run();
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(test::bit_identical(first[i], second[i])) << "output " << i;
}

TEST(ConvCpu, RepeatedRunsAreBitIdenticalOnEveryPath) {
  ThreadCountScope threads(3);
  {
    SCOPED_TRACE("im2col in bands");
    expect_repeats_bit_identically(geometry(7, 8, 10, 9, 12, 3, 3, 1, 1));
  }
  {
    SCOPED_TRACE("direct stride 1");
    expect_repeats_bit_identically(geometry(7, 16, 9, 10, 16, 3, 3, 1, 1));
  }
  {
    SCOPED_TRACE("direct stride 2");
    expect_repeats_bit_identically(geometry(7, 16, 17, 18, 16, 3, 3, 2, 1));
  }
  {
    SCOPED_TRACE("several samples per GEMM");
    expect_repeats_bit_identically(geometry(12, 32, 5, 5, 16, 3, 3, 1, 1));
  }
}

TEST(ConvCpu, PointwiseConvNeedsNoWorkspaceOnOneThread) {
  ThreadCountScope threads(1);
  EXPECT_EQ(conv2d_workspace_floats(geometry(8, 64, 14, 14, 128, 1, 1)), 0u);
}

TEST(ConvCpu, WorkspaceHoldsOneSampleColumnsPerChunkPlusPartialGradients) {
  const Conv2dGeometry g = geometry(8, 6, 16, 16, 4, 3, 3, 1, 1, 1, 2);  // 3 channels per group
  const size_t columns = 3 * 3 * 3 * 16 * 16, partial = 4 * 3 * 3 * 3 + 4;
  {
    ThreadCountScope threads(1);
    EXPECT_EQ(conv2d_workspace_floats(g), columns);
  }
  ThreadCountScope threads(3);
  EXPECT_EQ(conv2d_workspace_floats(g), 3 * columns + 2 * partial);
}

TEST(ConvCpu, SmallImagesHoldColumnsOfSeveralSamplesAndTheirGatheredOutputs) {
  // 10x10 outputs: the column budget holds the whole batch, so 1 thread runs all 8 samples in one
  // GEMM. At 3 threads, chunks of 2-3 samples would need 3 chunks' columns plus 2 partial weight
  // gradients, more than the whole batch's columns: the passes run as one GEMM over the whole batch,
  // split over the threads by rows.
  const Conv2dGeometry g = geometry(8, 32, 10, 10, 4, 3, 3, 1, 1, 1, 2);  // patch 16 * 3 * 3 = 144
  const size_t whole_batch = (144 + 2) * (8 * 100);
  {
    ThreadCountScope threads(1);
    EXPECT_EQ(conv2d_workspace_floats(g), whole_batch);
  }
  const size_t columns = (144 + 2) * (3 * 100), partial = 4 * 144 + 4;
  ThreadCountScope threads(3);
  ASSERT_LT(whole_batch, 3 * columns + 2 * partial);
  EXPECT_EQ(conv2d_workspace_floats(g), whole_batch);
}

TEST(ConvCpu, SmallImagesKeepBatchChunksWhereTheWholeBatchWouldNeedMoreRoom) {
  // Patch 4608, 8 outputs per group, 4x4 outputs: (4608 + 8) * 16 = 73856 floats a sample. At 3
  // threads the budget gives each chunk of 5 samples GEMMs of 3 (groups of 3 and 2): 3 chunks of 3
  // samples' columns plus 2 partial gradients take less room than the 15 samples' columns.
  const Conv2dGeometry g = geometry(15, 1024, 4, 4, 16, 3, 3, 1, 1, 1, 2);
  const size_t sample = (4608 + 8) * 16, partial = 16 * 4608 + 16;
  ThreadCountScope threads(3);
  ASSERT_GT(15 * sample, 3 * 3 * sample + 2 * partial);
  EXPECT_EQ(conv2d_workspace_floats(g), 3 * 3 * sample + 2 * partial);
}

TEST(ConvCpu, SmallImageSampleGroupsStayWithinTheirColumnBudget) {
  // Patch 4608, 8 outputs per group, 4x4 outputs: (4608 + 8) * 16 floats a sample, so the 1M-float
  // budget holds 14 samples and a batch of 15 runs as groups of 8 and 7.
  const Conv2dGeometry g = geometry(15, 1024, 4, 4, 16, 3, 3, 1, 1, 1, 2);
  ThreadCountScope threads(1);
  EXPECT_EQ(conv2d_workspace_floats(g), size_t{(4608 + 8) * 16 * 8});
}

TEST(ConvCpu, ColumnWorkspaceStaysBoundedForLargeImages) {
  ThreadCountScope threads(1);
  // One sample's full columns would be 576 x 50176 floats, and the direct kernels' padded planes 7 MiB;
  // im2col in bands of output rows caps the columns at 256K floats. (Winograd, off here, keeps its
  // own bound: one group of whole tile rows.)
  Conv2dGeometry g = geometry(2, 64, 224, 224, 64, 3, 3, 1, 1);
  g.winograd = false;
  const size_t floats = conv2d_workspace_floats(g);
  EXPECT_LE(floats, size_t{1} << 18);
  EXPECT_GE(floats, size_t{576} * 224);  // at least one output row
}

TEST(ConvCpu, DirectKernelsNeedLessWorkspaceThanOneSampleOfColumns) {
  ThreadCountScope threads(2);
  const Conv2dGeometry g = geometry(128, 16, 32, 32, 16, 3, 3, 1, 1);  // ResNet-20 layer1
  EXPECT_LT(conv2d_workspace_floats(g), size_t{2} * 144 * 1024);
}

TEST(ConvCpu, ForwardFlopsCountTwoPerMultiplyAccumulate) {
  // [2, 6, 8, 8] -> [2, 4, 4, 4] with a 3x3 kernel over 3 channels per group: 2*2*4*16*27 = 6912.
  EXPECT_EQ(conv2d_forward_flops(geometry(2, 6, 8, 8, 4, 3, 3, 2, 1, 1, 2)), 6912);
}

// --- Geometry: output size and validation. --------------------------------------------------------

TEST(Conv2dGeometry, OutputSizeFollowsPyTorchFloorFormula) {
  Conv2dGeometry g = geometry(1, 1, 11, 10, 1, 3, 4, 2, 1, 2);
  g.stride_w = 3;
  EXPECT_EQ(g.out_h(), 5);  // floor((11 + 2 - 2*2 - 1) / 2) + 1
  EXPECT_EQ(g.out_w(), 2);  // floor((10 + 2 - 2*3 - 1) / 3) + 1
  // Padded extent one short of the dilated kernel: floor(-1/2) + 1 = 0, not the truncated 1.
  EXPECT_EQ(geometry(1, 1, 4, 4, 1, 5, 5, 2).out_h(), 0);
}

constexpr const char* kLayer = "layer1.0.conv1";

// Runs validate_conv2d and returns the ShapeError message ("" when it does not throw).
std::string validation_message(const Conv2dGeometry& g) {
  try {
    validate_conv2d(g, kLayer);
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "";
}

void expect_rejected(const Conv2dGeometry& g, const std::string& problem) {
  const std::string message = validation_message(g);
  EXPECT_NE(message.find(kLayer), std::string::npos) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << message;
  const std::string input = "[" + std::to_string(g.batch) + ", " + std::to_string(g.in_channels) + ", " +
                            std::to_string(g.in_h) + ", " + std::to_string(g.in_w) + "]";
  EXPECT_NE(message.find(input), std::string::npos) << message;
}

TEST(ValidateConv2d, AcceptsValidGeometry) {
  EXPECT_EQ(validation_message(geometry(2, 8, 9, 9, 8, 3, 3, 2, 1, 2, 8)), "");
}

TEST(ValidateConv2d, RejectsNonPositiveSizes) {
  expect_rejected(geometry(0, 3, 8, 8, 4, 3, 3), "input sizes must be positive");
  expect_rejected(geometry(2, 3, 8, -1, 4, 3, 3), "input sizes must be positive");
  expect_rejected(geometry(2, 3, 8, 8, 0, 3, 3), "kernel sizes must be positive");
  expect_rejected(geometry(2, 3, 8, 8, 4, 3, 0), "kernel sizes must be positive");
}

TEST(ValidateConv2d, RejectsNonPositiveStrideAndDilation) {
  expect_rejected(geometry(2, 3, 8, 8, 4, 3, 3, 0), "stride must be positive");
  expect_rejected(geometry(2, 3, 8, 8, 4, 3, 3, 1, 0, 0), "dilation must be positive");
}

TEST(ValidateConv2d, RejectsNegativePadding) {
  expect_rejected(geometry(2, 3, 8, 8, 4, 3, 3, 1, -1), "padding must not be negative");
}

TEST(ValidateConv2d, RejectsChannelsNotDivisibleByGroups) {
  expect_rejected(geometry(2, 3, 8, 8, 4, 3, 3, 1, 0, 1, 2),
                  "in_channels 3 is not divisible by groups 2");
  expect_rejected(geometry(2, 4, 8, 8, 3, 3, 3, 1, 0, 1, 2),
                  "out_channels 3 is not divisible by groups 2");
  expect_rejected(geometry(2, 4, 8, 8, 4, 3, 3, 1, 0, 1, 0), "groups must be positive");
}

TEST(ValidateConv2d, RejectsKernelLargerThanPaddedInput) {
  expect_rejected(geometry(2, 3, 4, 4, 4, 7, 7, 1, 1),
                  "dilated kernel 7x7 is larger than padded input 6x6");
  expect_rejected(geometry(2, 3, 4, 4, 4, 3, 3, 1, 0, 2),
                  "dilated kernel 5x5 is larger than padded input 4x4");
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// The layer keeps its workspace sizes between set-ups (the budget search asks for them thousands of
// times): they must follow every change of geometry and of the Winograd switch.
TEST(Conv2dLayer, WorkspaceSizesFollowTheGeometryAndTheWinogradSwitch) {
  Conv2dOptions o;
  o.in_channels = o.out_channels = 128;  // enough channels for Winograd (ops/cpu/conv_winograd.cpp)
  o.padding = 1;
  Conv2d conv("c", o, RngKey{1, 2});
  auto expect_kernels_sizes = [&](const char* when) {
    EXPECT_EQ(conv.forward_workspace_bytes(), conv.kernels().conv2d_forward_workspace_bytes(conv.geometry())) << when;
    EXPECT_EQ(conv.backward_workspace_bytes(), conv.kernels().conv2d_backward_workspace_bytes(conv.geometry()))
        << when;
  };
  conv.setup({Shape{8, 128, 16, 16}});
  expect_kernels_sizes("first set-up");
  const size_t batch8 = conv.forward_workspace_bytes(), winograd8 = conv.backward_workspace_bytes();
  conv.setup({Shape{2, 128, 32, 32}});
  expect_kernels_sizes("another input shape");
  conv.setup({Shape{8, 128, 16, 16}});
  EXPECT_EQ(conv.forward_workspace_bytes(), batch8);
  conv.set_winograd(!conv.geometry().winograd);
  expect_kernels_sizes("Winograd switched");
  EXPECT_NE(conv.backward_workspace_bytes() + conv.forward_workspace_bytes(), winograd8 + batch8)
      << "the switch should change this geometry's workspace (128 channels, 3x3, stride 1, pad 1)";
}

}  // namespace
}  // namespace frugal
