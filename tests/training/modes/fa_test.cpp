// Feedback alignment: the error travels back through fixed random matrices of the weights' shapes;
// weight gradients are the exact ones from that error.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "ops/kernels.h"
#include "ops/linear.h"
#include "tests/training/modes/feedback_test_util.h"
#include "training/modes/fa.h"
#include "training/optim/sgd.h"

namespace frugal {
namespace {

using namespace feedback_test;

const nlohmann::json kFaDefault = {{"default", {{"mode", "fa"}}}};

FaMode& fa_mode(Executor& ex, int node) { return dynamic_cast<FaMode&>(ex.mode(node)); }

// Runs `steps` SGD steps (momentum, weight decay) and returns every parameter afterwards.
std::vector<std::vector<float>> train(Graph& g, Executor& ex, int steps) {
  auto opt = make_sgd(g.trainable_parameters(), {0.9f, 0.0f, 5e-4f, false});
  for (int s = 0; s < steps; ++s) {
    Batch b = random_batch(sample_shape(g), 6, 100 + s);
    ex.train_step(b.images, b.labels, s, 3);
    opt->step(0.05f);
  }
  return values_of(g);
}

TEST(FaMode, FeedbackEqualToTheWeightsReproducesExactBackpropBitForBit) {
  auto exact_graph = small_cnn(4), fa_graph = small_cnn(4);
  Executor exact(*exact_graph, modes_from(*exact_graph, {{"default", {{"mode", "exact"}}}}), "static", 5);
  Executor fa(*fa_graph, modes_from(*fa_graph, kFaDefault), "static", 5);
  int weighted = 0;
  for (int i = 0; i < fa_graph->size(); ++i)
    if (auto* w = dynamic_cast<WeightedLayer*>(&fa_graph->layer(i))) {
      fa_mode(fa, i).use_feedback(w->weight().value);  // shares the storage: follows every update
      ++weighted;
    }
  ASSERT_EQ(weighted, 4);
  EXPECT_EQ(train(*fa_graph, fa, 3), train(*exact_graph, exact, 3));
}

TEST(FaMode, RandomFeedbackChangesHiddenGradientsButNotTheClassifiers) {
  auto exact_graph = small_cnn(4), fa_graph = small_cnn(4);
  Executor exact(*exact_graph, modes_from(*exact_graph, {{"default", {{"mode", "exact"}}}}), "static", 5);
  Executor fa(*fa_graph, modes_from(*fa_graph, kFaDefault), "static", 5);
  Batch b = random_batch(sample_shape(*fa_graph), 6, 1);
  exact.train_step(b.images, b.labels, 0, 3);
  fa.train_step(b.images, b.labels, 0, 3);
  auto want = grads_of(*exact_graph), got = grads_of(*fa_graph);
  ASSERT_EQ(want.size(), got.size());
  // The classifier ("11.weight", "11.bias": the last two) learns from the true error.
  EXPECT_EQ(got[got.size() - 1], want[want.size() - 1]);
  EXPECT_EQ(got[got.size() - 2], want[want.size() - 2]);
  // Everything below it sees the error through random matrices instead.
  for (size_t k = 0; k + 2 < got.size(); ++k) EXPECT_NE(got[k], want[k]) << "trainable parameter " << k;
}

TEST(FaMode, HiddenGradientMatchesAHandComputedFeedbackPath) {
  // x [4, 6] -> linear0 (6->5) -> ReLU -> linear2 (5->3): dW0 = ((e·B2) ⊙ [a1 > 0])ᵀ x with B2 the
  // classifier's feedback matrix [3, 5] and e = (softmax - onehot) / B.
  ModelBuilder mb(9, Shape{6});
  int x = mb.linear("0", mb.input(), 5);
  x = mb.activation("1", x, kRelu);
  mb.linear("2", x, 3);
  auto g = mb.finish();
  Executor ex(*g, modes_from(*g, kFaDefault), "naive", 3);
  Batch b = random_batch({6}, 4, 2, 3);
  ex.train_step(b.images, b.labels, 0, 0);

  auto& l0 = dynamic_cast<Linear&>(g->layer(0));
  auto& l2 = dynamic_cast<Linear&>(g->layer(2));
  std::vector<float> feedback(15);
  fa_mode(ex, 2).fill_feedback_matrix(kernels_for(Device::CPU), feedback.data());
  const float* w0 = l0.weight().value.f32();
  const float* b0 = l0.bias()->value.f32();
  const float* w2 = l2.weight().value.f32();
  const float* b2 = l2.bias()->value.f32();
  const float* xs = b.images.f32();
  std::vector<double> dw0(30, 0.0);
  for (int n = 0; n < 4; ++n) {
    double a1[5], h[5], z[3], zmax = -1e30, zsum = 0;
    for (int j = 0; j < 5; ++j) {
      a1[j] = b0[j];
      for (int i = 0; i < 6; ++i) a1[j] += double(w0[j * 6 + i]) * xs[n * 6 + i];
      h[j] = std::max(a1[j], 0.0);
    }
    for (int c = 0; c < 3; ++c) {
      z[c] = b2[c];
      for (int j = 0; j < 5; ++j) z[c] += double(w2[c * 5 + j]) * h[j];
      zmax = std::max(zmax, z[c]);
    }
    for (int c = 0; c < 3; ++c) zsum += std::exp(z[c] - zmax);
    double e[3];
    for (int c = 0; c < 3; ++c)
      e[c] = (std::exp(z[c] - zmax) / zsum - (c == b.labels.data<int32_t>()[n] ? 1.0 : 0.0)) / 4.0;
    for (int j = 0; j < 5; ++j) {
      double delta = 0;
      for (int c = 0; c < 3; ++c) delta += e[c] * feedback[c * 5 + j];
      if (a1[j] <= 0) delta = 0;
      for (int i = 0; i < 6; ++i) dw0[j * 6 + i] += delta * xs[n * 6 + i];
    }
  }
  for (int k = 0; k < 30; ++k) EXPECT_NEAR(l0.weight().grad.f32()[k], dw0[k], 1e-6 + 1e-5 * std::abs(dw0[k])) << k;
}

TEST(FaMode, StoredAndRegeneratedFeedbackGiveIdenticalGradients) {
  auto regen_graph = small_cnn(6), stored_graph = small_cnn(6);
  Executor regen(*regen_graph, modes_from(*regen_graph, kFaDefault), "static", 5);
  Executor stored(*stored_graph, modes_from(*stored_graph, {{"default", {{"mode", "fa"}, {"memory", true}}}}),
                  "static", 5);
  EXPECT_EQ(train(*regen_graph, regen, 2), train(*stored_graph, stored, 2));
  // Stored: one weight-sized state buffer per weighted layer; regenerated: none, a larger workspace.
  auto& conv = dynamic_cast<WeightedLayer&>(stored_graph->layer(4));
  ASSERT_EQ(stored.mode(4).state().size(), 1u);
  EXPECT_EQ(stored.mode(4).state()[0]->value.nbytes(), conv.weight().value.nbytes());
  EXPECT_TRUE(regen.mode(4).state().empty());
  EXPECT_GE(regen.mode(4).backward_workspace_bytes(regen_graph->layer(4)),
            stored.mode(4).backward_workspace_bytes(stored_graph->layer(4)) + conv.weight().value.nbytes());
}

double stddev(const std::vector<float>& v, double* mean_out) {
  double mean = 0, var = 0;
  for (float x : v) mean += x;
  mean /= v.size();
  for (float x : v) var += (x - mean) * (x - mean);
  *mean_out = mean;
  return std::sqrt(var / v.size());
}

TEST(FaMode, FeedbackMatrixIsFixedPerLayerAndScaledByOneOverSqrtFanIn) {
  ModelBuilder mb(1, Shape{256});
  int x = mb.linear("0", mb.input(), 128);
  mb.linear("1", x, 128);
  auto g = mb.finish();
  auto& l0 = dynamic_cast<WeightedLayer&>(g->layer(0));
  auto& l1 = dynamic_cast<WeightedLayer&>(g->layer(1));
  const double bound = 1.0 / std::sqrt(256.0);
  FaMode uniform({FeedbackDistribution::Uniform, 1.0f}, false, l0, 0, 5);
  std::vector<float> a(128 * 256), again(a.size()), other(a.size());
  uniform.fill_feedback_matrix(kernels_for(Device::CPU), a.data());
  uniform.fill_feedback_matrix(kernels_for(Device::CPU), again.data());
  EXPECT_EQ(a, again);  // regenerated, not redrawn
  FaMode(FeedbackOptions{}, false, l0, 1, 5).fill_feedback_matrix(kernels_for(Device::CPU), other.data());
  EXPECT_NE(a, other);  // another layer index, another matrix
  double mean = 0;
  for (float v : a) ASSERT_LE(std::abs(v), bound);
  EXPECT_NEAR(stddev(a, &mean), bound / std::sqrt(3.0), 0.02 * bound / std::sqrt(3.0));
  EXPECT_NEAR(mean, 0.0, 4 * bound / std::sqrt(3.0 * a.size()));

  FaMode gaussian({FeedbackDistribution::Gaussian, 2.0f}, false, l1, 1, 5);
  std::vector<float> gv(128 * 128);
  gaussian.fill_feedback_matrix(kernels_for(Device::CPU), gv.data());
  const double sigma = 2.0 / std::sqrt(128.0);
  EXPECT_NEAR(stddev(gv, &mean), sigma, 0.03 * sigma);
  EXPECT_NEAR(mean, 0.0, 4 * sigma / std::sqrt(double(gv.size())));
}

TEST(FaMode, ServesOnlyWeightedLayersAndRejectsForeignKnobs) {
  auto g = small_cnn(1);
  // As the default, fa leaves the other layers exact.
  auto modes = modes_from(*g, kFaDefault);
  EXPECT_EQ(modes[0]->name(), "fa");
  EXPECT_EQ(modes[1]->name(), "exact");
  EXPECT_EQ(modes[0]->describe(), "fa(uniform, scale=1, regenerated)");
  // Put explicitly on a ReLU, it is refused with the layer named.
  try {
    modes_from(*g, {{"layers", {{{"match", "2"}, {"mode", "fa"}}}}});
    FAIL() << "fa on a ReLU was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'2'"), std::string::npos) << e.what();
  }
  try {
    modes_from(*g, {{"default", {{"mode", "fa"}, {"bits", 4}}}});
    FAIL() << "a quantization knob on fa was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'bits'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("layer '0'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
