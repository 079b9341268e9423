// After warm-up, a training step takes all its tensor memory from the plan: neither the planner nor the
// default CPU allocator allocates.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/exact.h"
#include "training/optim/sgd.h"

namespace frugal {
namespace {

std::unique_ptr<Graph> cnn_with_dropout() {
  ModelBuilder b(1, Shape{3, 12, 12});
  const auto relu = default_activation_spec(ActivationKind::ReLU);
  int x = b.conv("conv1", b.input(), 8, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu1", x, relu);
  int y = b.conv("conv2", x, 8, 3, 1, 1, false);
  y = b.batchnorm("bn2", y);
  y = b.add("add", y, x);
  y = b.maxpool("pool", y, 2, 2);
  y = b.flatten("flatten", y);
  y = b.dropout("drop", y, 0.3f);
  b.linear("fc", y, 4);
  return b.finish();
}

class SteadyState : public ::testing::TestWithParam<const char*> {};

TEST_P(SteadyState, TrainingStepsAllocateNothingAfterWarmUp) {
  auto g = cnn_with_dropout();
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g->size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  Executor ex(*g, std::move(modes), GetParam(), 4);
  auto opt = make_sgd(g->trainable_parameters(), SgdOptions{});
  Tensor images = Tensor::empty({16, 3, 12, 12}), labels = Tensor::zeros({16}, DType::I32);
  rng_normal(rng_key(2, RngStream::Test), images.f32(), images.numel());
  for (uint64_t step = 0; step < 2; ++step) {  // warm-up: plan, first touch
    ex.train_step(images, labels, step, 1);
    opt->step(0.01f);
  }
  const uint64_t tensors_before = default_cpu_allocator().allocation_count();
  const uint64_t planner_before = ex.planner_system_allocations();
  for (uint64_t step = 2; step < 5; ++step) {
    ex.train_step(images, labels, step, 1);
    opt->step(0.01f);
  }
  EXPECT_EQ(default_cpu_allocator().allocation_count(), tensors_before);
  EXPECT_EQ(ex.planner_system_allocations(), planner_before);
}

INSTANTIATE_TEST_SUITE_P(Planners, SteadyState, ::testing::Values("static", "pool"));

TEST(SteadyState, NaivePlannerAllocatesEveryStepAsDocumented) {
  auto g = cnn_with_dropout();
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g->size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  Executor ex(*g, std::move(modes), "naive", 4);
  Tensor images = Tensor::zeros({16, 3, 12, 12}), labels = Tensor::zeros({16}, DType::I32);
  ex.train_step(images, labels, 0, 1);
  const uint64_t before = ex.planner_system_allocations();
  ex.train_step(images, labels, 1, 1);
  EXPECT_GT(ex.planner_system_allocations(), before);  // the baseline the other planners improve on
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// The profiler's record of a real step agrees with the plan: every buffer was acquired and released
// exactly when the step description said, so the measured timeline equals the predicted one.
TEST(StepProfile, RecordedLifetimesMatchThePlan) {
  auto g = cnn_with_dropout();
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < g->size(); ++i) modes.push_back(std::make_unique<ExactMode>());
  Executor ex(*g, std::move(modes), "static", 4);
  Tensor images = Tensor::zeros({8, 3, 12, 12}), labels = Tensor::zeros({8}, DType::I32);
  ex.train_step(images, labels, 0, 1);
  const MemoryProfiler& prof = ex.training_profile();
  EXPECT_TRUE(prof.lifetime_mismatches().empty());
  const StepDescription& step = ex.training_plan(8).step;
  EXPECT_EQ(prof.events().size(), 2 * step.buffers.size());
  EXPECT_EQ(prof.timeline(), live_bytes_by_category(step));
  EXPECT_EQ(prof.peak_bytes(), lower_bound_bytes(step));
  EXPECT_EQ(ex.training_planner().measured_peak_bytes(), ex.training_planner().predicted_peak_bytes());
}

}  // namespace
}  // namespace frugal
