// Values whose gradient reaches no parameter (training/step_plan.cpp): parameter-free layers over the
// input (an MLP's Flatten, a pooling before the first conv) get no gradient buffer, run no backward, and
// the first weighted layer behind them skips its data gradient, as it does when it reads the input.
#include <gtest/gtest.h>

#include "tests/training/executor_test_util.h"
#include "tests/training/finite_difference_util.h"
#include "training/executor.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

// input -> maxpool -> add(pool, pool) -> flatten -> fc1 -> GELU -> fc2: three parameter-free layers
// (one with two inputs) in front of the first Linear.
std::unique_ptr<Graph> prefixed_net() {
  ModelBuilder b(4, Shape{2, 6, 6});
  int x = b.maxpool("pool", b.input(), 2, 2);
  x = b.add("twice", x, x);
  x = b.flatten("flat", x);
  x = b.linear("fc1", x, 5);
  x = b.activation("act", x, default_activation_spec(ActivationKind::GELU));
  b.linear("fc2", x, 3);
  return b.finish();
}

TEST(GradientFreePrefix, LayersBeforeTheFirstParameterGetNoGradient) {
  auto g = prefixed_net();
  Executor ex(*g, test::exact_modes(*g), "static", 3);
  const StepPlan& plan = ex.training_plan(4);
  for (const char* name : {"pool", "twice", "flat"})
    EXPECT_EQ(plan.nodes[g->find(name)].output_grad, kNoBuffer) << name;
  EXPECT_EQ(plan.nodes[g->find("fc1")].input_grad_target.at(0), kNoBuffer);  // no data-gradient GEMM
  EXPECT_NE(plan.nodes[g->find("fc1")].output_grad, kNoBuffer);
  EXPECT_NE(plan.nodes[g->find("fc2")].input_grad_target.at(0), kNoBuffer);
}

TEST(GradientFreePrefix, FirstWeightGradientMatchesFiniteDifferences) {
  auto g = prefixed_net();
  Executor ex(*g, test::exact_modes(*g), "static", 3);
  const test::Batch b = test::random_batch(4, Shape{2, 6, 6}, 3, 7);
  ex.train_step(b.images, b.labels, 0, 0);
  // fc1.weight, behind the prefix.
  test::expect_largest_gradient_entry_matches_finite_differences(ex, *g->trainable_parameters().front(), b);
}

}  // namespace
}  // namespace frugal
