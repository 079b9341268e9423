// fit_winograd_to_memory: which convs keep the Winograd kernels, and the executor's plans with it.
#include "training/conv_algorithms.h"

#include <gtest/gtest.h>

#include "memory/step_description.h"
#include "ops/conv.h"
#include "tests/training/executor_test_util.h"
#include "training/executor.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

// Three 128-channel 3x3 convs (Winograd's shape) on 6x6 images, then a pool and a linear layer.
std::unique_ptr<Graph> wide_cnn() {
  ModelBuilder b(3, Shape{128, 6, 6});
  int x = b.input();
  for (const char* name : {"conv1", "conv2", "conv3"}) {
    x = b.conv(name, x, 128, 3, 1, 1, false);
    x = b.activation(std::string(name) + ".relu", x, kRelu);
  }
  x = b.global_avgpool("pool", x);
  b.linear("fc", x, 4);
  return b.finish();
}

Conv2d& conv(Graph& g, const char* name) { return dynamic_cast<Conv2d&>(g.layer(g.find(name))); }

TEST(FitWinogradToMemory, TurnsOffTheConvsWhoseWorkspaceRaisesThePeak) {
  auto g = wide_cnn();
  g->setup(Shape{2, 128, 6, 6});
  // A stand-in peak: only conv3's Winograd workspace adds to it.
  auto peak = [&] { return size_t{1000} + (conv(*g, "conv3").uses_winograd() ? 500 : 0); };
  EXPECT_TRUE(fit_winograd_to_memory(*g, peak));
  EXPECT_TRUE(conv(*g, "conv1").uses_winograd());
  EXPECT_TRUE(conv(*g, "conv2").uses_winograd());
  EXPECT_FALSE(conv(*g, "conv3").uses_winograd());
  EXPECT_FALSE(fit_winograd_to_memory(*g, peak));  // already fits
}

TEST(FitWinogradToMemory, KeepsALaterConvWhoseWorkspaceIsNotAtThePeak) {
  auto g = wide_cnn();
  g->setup(Shape{2, 128, 6, 6});
  // conv2's workspace raises the peak; conv3's (and conv1's) fall where the step holds less.
  auto peak = [&] { return size_t{1000} + (conv(*g, "conv2").uses_winograd() ? 500 : 0); };
  EXPECT_TRUE(fit_winograd_to_memory(*g, peak));
  EXPECT_TRUE(conv(*g, "conv1").uses_winograd());
  EXPECT_FALSE(conv(*g, "conv2").uses_winograd());
  EXPECT_TRUE(conv(*g, "conv3").uses_winograd());
}

TEST(FitWinogradToMemory, LeavesEveryConvOnWhenThePeakDoesNotDependOnThem) {
  auto g = wide_cnn();
  g->setup(Shape{2, 128, 6, 6});
  EXPECT_FALSE(fit_winograd_to_memory(*g, [] { return size_t{1000}; }));
  for (const char* name : {"conv1", "conv2", "conv3"}) EXPECT_TRUE(conv(*g, name).uses_winograd()) << name;
}

TEST(FitWinogradToMemory, ExecutorPlansNeedNoMoreThanWithoutWinograd) {
  auto with = wide_cnn(), without = wide_cnn();
  Executor a(*with, test::exact_modes(*with), "static", 4), b(*without, test::exact_modes(*without), "static", 4);
  for (const char* name : {"conv1", "conv2", "conv3"}) conv(*without, name).set_winograd(false);
  EXPECT_LE(lower_bound_bytes(a.training_plan(2).step), lower_bound_bytes(b.training_plan(2).step));
  // And the training step runs on that plan, matching the step without Winograd to rounding.
  const test::Batch batch = test::random_batch(2, Shape{128, 6, 6}, 4, 1);
  const float la = a.train_step(batch.images, batch.labels, 0, 0).loss;
  const float lb = b.train_step(batch.images, batch.labels, 0, 0).loss;
  EXPECT_NEAR(la, lb, 1e-5f * std::abs(lb));
}

}  // namespace
}  // namespace frugal
