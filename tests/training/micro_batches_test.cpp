// train.micro_batches (Executor::set_micro_batches): a step over a batch as k passes of batch/k samples
// whose parameter gradients add up to the gradient of the mean loss over the whole batch.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "memory/arena_plan.h"
#include "tests/training/executor_test_util.h"
#include "training/executor.h"
#include "training/models/model_builder.h"

namespace frugal {
namespace {

// conv -> ReLU -> max-pool -> linear: no BatchNorm, so the passes see what the whole batch does.
std::unique_ptr<Graph> small_net() {
  ModelBuilder b(4, Shape{2, 8, 8});
  int x = b.conv("conv", b.input(), 4, 3, 1, 1, true);
  x = b.activation("relu", x, default_activation_spec(ActivationKind::ReLU));
  x = b.maxpool("pool", x, 2, 2);
  x = b.flatten("flat", x);
  b.linear("fc", x, 4);
  return b.finish();
}

// Exact, but declaring that its backward overwrites the parameter gradients (as randomized_trace's
// estimator does): the step saves them around it and adds them back.
class OverwritingExactMode final : public ExactMode {
 public:
  bool accumulates_param_grads(const Layer&) const override { return false; }
};

std::vector<float> gradients(Graph& g) {
  std::vector<float> out;
  for (Parameter* p : g.trainable_parameters())
    out.insert(out.end(), p->grad.f32(), p->grad.f32() + p->grad.numel());
  return out;
}

// |a - b| / |a| over all entries.
double relative_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    n += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(d / n);
}

// The gradient of one training step over 16 samples in `k` passes; `fc_overwrites`: the linear layer
// in OverwritingExactMode.
std::vector<float> step_gradients(int k, bool fc_overwrites, float* loss = nullptr) {
  auto g = small_net();
  auto modes = test::exact_modes(*g);
  if (fc_overwrites) modes[g->find("fc")] = std::make_unique<OverwritingExactMode>();
  Executor ex(*g, std::move(modes), "static", 4);
  ex.set_micro_batches(k);
  const test::Batch b = test::random_batch(16, Shape{2, 8, 8}, 4, 3);
  const StepResult r = ex.train_step(b.images, b.labels, 0, 0);
  if (loss) *loss = r.loss;
  EXPECT_EQ(r.samples, 16);
  return gradients(*g);
}

TEST(MicroBatches, PassesAddUpToTheWholeBatchGradient) {
  float whole_loss = 0;
  const std::vector<float> whole = step_gradients(1, false, &whole_loss);
  for (int k : {2, 4, 16}) {
    float loss = 0;
    const std::vector<float> split = step_gradients(k, false, &loss);
    EXPECT_LT(relative_distance(whole, split), 1e-5) << "k = " << k;
    EXPECT_NEAR(loss, whole_loss, 1e-5 * std::abs(whole_loss)) << "k = " << k;
  }
}

TEST(MicroBatches, AModeThatOverwritesItsGradientsIsAccumulatedByTheStep) {
  const std::vector<float> whole = step_gradients(1, true);
  const std::vector<float> split = step_gradients(4, true);
  EXPECT_LT(relative_distance(whole, split), 1e-5);
  auto g = small_net();
  auto modes = test::exact_modes(*g);
  modes[g->find("fc")] = std::make_unique<OverwritingExactMode>();
  Executor ex(*g, std::move(modes), "static", 4);
  ex.set_micro_batches(4);
  const StepPlan& plan = ex.training_plan(16);
  EXPECT_NE(plan.nodes[g->find("fc")].grad_save, kNoBuffer);    // overwrites: saved around its backward
  EXPECT_EQ(plan.nodes[g->find("conv")].grad_save, kNoBuffer);  // exact: the kernel adds
}

// conv -> BatchNorm -> ReLU (folded into the BatchNorm, whose gradients the step then saves and adds)
// -> global average pool -> linear.
std::unique_ptr<Graph> bn_net() {
  ModelBuilder b(4, Shape{2, 6, 6});
  int x = b.conv("conv", b.input(), 4, 3, 1, 1, false);
  x = b.batchnorm("bn", x);
  x = b.activation("relu", x, default_activation_spec(ActivationKind::ReLU));
  x = b.global_avgpool("pool", x);
  b.linear("fc", x, 4);
  return b.finish();
}

TEST(MicroBatches, WithBatchNormEachPassIsAStepOverItsOwnSamples) {
  // BatchNorm normalises each pass with its own statistics: the step's gradient is the mean of the
  // passes' gradients, each as a one-pass step over its slice would give it.
  const test::Batch b = test::random_batch(8, Shape{2, 6, 6}, 4, 5);
  auto split_net = bn_net();
  Executor split(*split_net, test::exact_modes(*split_net), "static", 4);
  split.set_micro_batches(2);
  split.train_step(b.images, b.labels, 0, 0);
  EXPECT_NE(split.training_plan(8).nodes[split_net->find("bn")].grad_save, kNoBuffer) << "the ReLU is folded";
  std::vector<float> expected;
  for (int j = 0; j < 2; ++j) {
    auto g = bn_net();
    Executor half(*g, test::exact_modes(*g), "static", 4);
    half.train_step(b.images.slice0(4 * j, 4 * j + 4), b.labels.slice0(4 * j, 4 * j + 4), 0, 0);
    const std::vector<float> got = gradients(*g);
    expected.resize(got.size(), 0.0f);
    for (size_t i = 0; i < got.size(); ++i) expected[i] += 0.5f * got[i];
  }
  EXPECT_LT(relative_distance(expected, gradients(*split_net)), 1e-5);
}

TEST(MicroBatches, TheStepIsPlannedForOnePassAndMeasuredAsPlanned) {
  auto g = small_net();
  Executor ex(*g, test::exact_modes(*g), "static", 4);
  const test::Batch b = test::random_batch(16, Shape{2, 8, 8}, 4, 3);
  ex.train_step(b.images, b.labels, 0, 0);
  const size_t whole = ex.training_planner().predicted_peak_bytes();
  EXPECT_EQ(ex.training_planner().measured_peak_bytes(), whole);
  ex.set_micro_batches(4);
  EXPECT_EQ(ex.training_plan(16).batch, 4);
  ex.train_step(b.images, b.labels, 0, 0);
  const size_t split = ex.training_planner().predicted_peak_bytes();
  EXPECT_LT(split, whole);
  EXPECT_EQ(ex.training_planner().measured_peak_bytes(), split);
}

TEST(MicroBatches, ACountThatDoesNotDivideTheBatchIsRefused) {
  auto g = small_net();
  Executor ex(*g, test::exact_modes(*g), "static", 4);
  EXPECT_THROW(ex.set_micro_batches(0), ConfigError);
  ex.set_micro_batches(3);
  const test::Batch b = test::random_batch(16, Shape{2, 8, 8}, 4, 3);
  try {
    ex.train_step(b.images, b.labels, 0, 0);
    FAIL() << "3 passes over 16 samples";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.micro_batches"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
