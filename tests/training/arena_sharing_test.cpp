// Evaluation in the training step's arena (training/arena_sharing.h): the batch is split to fit, the
// results are those of evaluation in memory of its own, and training is unaffected.
#include "training/arena_sharing.h"

#include <gtest/gtest.h>

#include <cstring>

#include "training/executor.h"
#include "training/models/models.h"
#include "tests/training/executor_test_util.h"
#include "tests/training/config_sections.h"

namespace frugal {
namespace {

std::unique_ptr<Graph> small_cnn() {
  const nlohmann::json model = {{"arch", "cnn"}, {"channels", {6, 8}}, {"hidden", {16}}, {"dropout", 0.25}};
  return build_model(testing_support::validated_section("model", model), Shape{1, 12, 12}, 4, 3);
}

std::vector<float> grads(Graph& g) {
  std::vector<float> out;
  for (Parameter* p : g.trainable_parameters()) out.insert(out.end(), p->grad.f32(), p->grad.f32() + p->grad.numel());
  return out;
}

TEST(ArenaSharing, EvaluationBatchIsSplitToFitTheTrainingArena) {
  auto g = small_cnn();
  Executor ex(*g, test::exact_modes(*g), "static", 4);
  ex.training_plan(8);
  const int64_t fits = ex.evaluation_batch(256);
  EXPECT_GE(fits, 8);   // an evaluation step keeps less than a training step of the same batch
  EXPECT_LT(fits, 256);
  const test::Batch b = test::random_batch(fits, Shape{1, 12, 12}, 4, 1);
  ex.evaluate(b.images, b.labels);
  EXPECT_TRUE(ex.evaluation_shares_training_arena());
  const test::Batch big = test::random_batch(fits + 1, Shape{1, 12, 12}, 4, 1);
  ex.evaluate(big.images, big.labels);
  EXPECT_FALSE(ex.evaluation_shares_training_arena());  // one more sample: memory of its own
}

TEST(ArenaSharing, WithoutATrainingPlanEvaluationKeepsItsBatch) {
  auto g = small_cnn();
  Executor ex(*g, test::exact_modes(*g), "static", 4);
  EXPECT_EQ(ex.evaluation_batch(256), 256);
  Executor pooled(*g, test::exact_modes(*g), "pool", 4);
  pooled.training_plan(8);
  EXPECT_EQ(pooled.evaluation_batch(256), 256);  // only the static planner has an arena to lend
}

TEST(ArenaSharing, ResultsEqualEvaluationInMemoryOfItsOwn) {
  auto g = small_cnn();
  Executor shared(*g, test::exact_modes(*g), "static", 4);
  Executor own(*g, test::exact_modes(*g), "naive", 4);
  shared.training_plan(8);
  const test::Batch b = test::random_batch(shared.evaluation_batch(256), Shape{1, 12, 12}, 4, 2);
  const StepResult a = shared.evaluate(b.images, b.labels);
  ASSERT_TRUE(shared.evaluation_shares_training_arena());
  const StepResult c = own.evaluate(b.images, b.labels);
  EXPECT_EQ(a.loss, c.loss);
  EXPECT_EQ(a.correct, c.correct);
}

TEST(ArenaSharing, TrainingAfterEvaluationIsUnchanged) {
  auto g1 = small_cnn(), g2 = small_cnn();
  Executor with(*g1, test::exact_modes(*g1), "static", 4), without(*g2, test::exact_modes(*g2), "static", 4);
  const test::Batch t0 = test::random_batch(8, Shape{1, 12, 12}, 4, 3), t1 = test::random_batch(8, Shape{1, 12, 12}, 4, 4);
  with.train_step(t0.images, t0.labels, 0, 1);
  without.train_step(t0.images, t0.labels, 0, 1);
  const test::Batch e = test::random_batch(with.evaluation_batch(64), Shape{1, 12, 12}, 4, 5);
  with.evaluate(e.images, e.labels);  // overwrites the training arena's bytes
  ASSERT_TRUE(with.evaluation_shares_training_arena());
  with.train_step(t1.images, t1.labels, 1, 1);
  without.train_step(t1.images, t1.labels, 1, 1);
  const std::vector<float> a = grads(*g1), b = grads(*g2);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

}  // namespace
}  // namespace frugal
