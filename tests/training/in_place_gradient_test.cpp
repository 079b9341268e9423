// Gradient buffers shared with in-place backwards (training/step_plan.cpp): an activation, or a folded
// pair, writes the gradient of an input only it reads over its output's gradient.
#include <gtest/gtest.h>

#include "tests/training/executor_test_util.h"
#include "tests/training/finite_difference_util.h"
#include "training/executor.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

// conv -> GELU (sole reader of the conv) -> conv, whose output feeds both a GELU and an Add, -> linear
// -> GELU as the network output.
std::unique_ptr<Graph> gelu_net() {
  const ActivationSpec gelu = default_activation_spec(ActivationKind::GELU);
  ModelBuilder b(4, Shape{2, 6, 6});
  int x = b.conv("conv1", b.input(), 3, 3, 1, 1, true);
  x = b.activation("gelu1", x, gelu);
  int y = b.conv("conv2", x, 3, 3, 1, 1, true);
  int z = b.activation("gelu2", y, gelu);
  z = b.add("add", z, y);
  z = b.global_avgpool("pool", z);
  z = b.linear("fc", z, 3);
  b.activation("out", z, gelu);
  return b.finish();
}

TEST(InPlaceGradient, AnActivationsSoleInputSharesItsGradientBuffer) {
  auto g = gelu_net();
  Executor ex(*g, test::exact_modes(*g), "static", 3);
  const StepPlan& plan = ex.training_plan(2);
  auto grad = [&](const char* name) { return plan.nodes[g->find(name)].output_grad; };
  EXPECT_EQ(grad("conv1"), grad("gelu1"));  // gelu1 is conv1's only reader
  EXPECT_NE(grad("conv2"), grad("gelu2"));  // conv2 is also read by the Add
  EXPECT_NE(grad("fc"), grad("out"));       // the network output's gradient stays intact
}

TEST(InPlaceGradient, TrainingMatchesFiniteDifferencesThroughSharedBuffers) {
  auto g = gelu_net();
  Executor ex(*g, test::exact_modes(*g), "static", 3);
  const test::Batch b = test::random_batch(2, Shape{2, 6, 6}, 3, 5);
  ex.train_step(b.images, b.labels, 0, 0);
  // conv1.weight: its gradient crossed gelu1 in place.
  test::expect_largest_gradient_entry_matches_finite_differences(ex, *g->trainable_parameters().front(), b);
}

}  // namespace
}  // namespace frugal
