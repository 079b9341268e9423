// Direct feedback alignment: the output error reaches every block through a fixed random matrix;
// inside a block the gradient is exact; the classifier learns from the true error.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "ops/kernels.h"
#include "ops/linear.h"
#include "tests/training/modes/feedback_test_util.h"
#include "training/modes/dfa.h"
#include "training/optim/sgd.h"

namespace frugal {
namespace {

using namespace feedback_test;

const nlohmann::json kDfaDefault = {{"default", {{"mode", "dfa"}}}};

DfaMode& dfa_mode(Executor& ex, int node) { return dynamic_cast<DfaMode&>(ex.mode(node)); }

std::vector<DfaRole> roles(Executor& ex) {
  std::vector<DfaRole> r;
  for (int i = 0; i < ex.graph().size(); ++i) r.push_back(dfa_mode(ex, i).role());
  return r;
}

TEST(DfaMode, OneHiddenLayerNetMatchesAHandComputedUpdate) {
  // x [4, 6] -> linear0 (6->5) -> ReLU -> linear2 (5->3). With e = (softmax - onehot) / B:
  //   dW2 = eᵀh, db2 = Σe;  δ1 = (e·D1) ⊙ [a1 > 0] with D1 [3, 5];  dW0 = δ1ᵀx, db0 = Σδ1;
  // then plain SGD: W -= lr·dW.
  ModelBuilder mb(9, Shape{6});
  int x = mb.linear("0", mb.input(), 5);
  x = mb.activation("1", x, kRelu);
  mb.linear("2", x, 3);
  auto g = mb.finish();
  Executor ex(*g, modes_from(*g, kDfaDefault), "naive", 3);
  ASSERT_EQ(roles(ex), (std::vector<DfaRole>{DfaRole::Local, DfaRole::Injection, DfaRole::Output}));
  auto& l0 = dynamic_cast<Linear&>(g->layer(0));
  auto& l2 = dynamic_cast<Linear&>(g->layer(2));
  const Tensor w0 = l0.weight().value.clone(), b0 = l0.bias()->value.clone();
  const Tensor w2 = l2.weight().value.clone(), b2 = l2.bias()->value.clone();
  std::vector<float> d1(15);
  dfa_mode(ex, 1).fill_feedback_matrix(kernels_for(Device::CPU), 3, 5, d1.data());

  Batch b = random_batch({6}, 4, 2, 3);
  ex.train_step(b.images, b.labels, 0, 0);
  const float lr = 0.5f;
  make_sgd(g->trainable_parameters(), {0.0f, 0.0f, 0.0f, false})->step(lr);

  const float* xs = b.images.f32();
  std::vector<double> dw0(30, 0), db0(5, 0), dw2(15, 0), db2(3, 0);
  for (int n = 0; n < 4; ++n) {
    double a1[5], h[5], z[3], zmax = -1e30, zsum = 0, e[3];
    for (int j = 0; j < 5; ++j) {
      a1[j] = b0.f32()[j];
      for (int i = 0; i < 6; ++i) a1[j] += double(w0.f32()[j * 6 + i]) * xs[n * 6 + i];
      h[j] = std::max(a1[j], 0.0);
    }
    for (int c = 0; c < 3; ++c) {
      z[c] = b2.f32()[c];
      for (int j = 0; j < 5; ++j) z[c] += double(w2.f32()[c * 5 + j]) * h[j];
      zmax = std::max(zmax, z[c]);
    }
    for (int c = 0; c < 3; ++c) zsum += std::exp(z[c] - zmax);
    for (int c = 0; c < 3; ++c)
      e[c] = (std::exp(z[c] - zmax) / zsum - (c == b.labels.data<int32_t>()[n] ? 1.0 : 0.0)) / 4.0;
    for (int c = 0; c < 3; ++c) {
      db2[c] += e[c];
      for (int j = 0; j < 5; ++j) dw2[c * 5 + j] += e[c] * h[j];
    }
    for (int j = 0; j < 5; ++j) {
      double delta = 0;
      for (int c = 0; c < 3; ++c) delta += e[c] * d1[c * 5 + j];
      if (a1[j] <= 0) delta = 0;
      db0[j] += delta;
      for (int i = 0; i < 6; ++i) dw0[j * 6 + i] += delta * xs[n * 6 + i];
    }
  }
  auto expect_updated = [&](const Tensor& before, const Tensor& after, const std::vector<double>& grad,
                            const char* what) {
    for (size_t k = 0; k < grad.size(); ++k)
      EXPECT_NEAR(after.f32()[k], before.f32()[k] - lr * grad[k], 2e-6) << what << "[" << k << "]";
  };
  expect_updated(w0, l0.weight().value, dw0, "W0");
  expect_updated(b0, l0.bias()->value, db0, "b0");
  expect_updated(w2, l2.weight().value, dw2, "W2");
  expect_updated(b2, l2.bias()->value, db2, "b2");
  // The hidden update is not vacuous: the feedback path carried a signal.
  double norm = 0;
  for (double v : dw0) norm += v * v;
  EXPECT_GT(std::sqrt(norm), 1e-3);
}

TEST(DfaMode, InjectionPointsAreTheInputsOfWeightedLayersWithTrainableLayersBehind) {
  auto cnn = small_cnn(1);
  Executor c(*cnn, modes_from(*cnn, kDfaDefault), "naive", 5);
  using R = DfaRole;
  // conv bn relu pool | conv bn relu pool flatten | linear relu | classifier
  EXPECT_EQ(roles(c), (std::vector<R>{R::Local, R::Local, R::Local, R::Injection, R::Local, R::Local, R::Local,
                                      R::Local, R::Injection, R::Local, R::Injection, R::Output}));
  EXPECT_EQ(c.mode(3).describe(), "dfa(injection, uniform, scale=1)");
  EXPECT_EQ(c.mode(4).describe(), "dfa(local)");
  for (int i = 0; i < cnn->size(); ++i) EXPECT_EQ(c.mode(i).reads_network_output_grad(), roles(c)[i] == R::Injection);

  // A leading Flatten has nothing trainable behind it: no backward, nothing kept.
  auto mlp = small_mlp(1, 2, 8, 0.5f);
  Executor m(*mlp, modes_from(*mlp, kDfaDefault), "naive", 5);
  EXPECT_EQ(roles(m), (std::vector<R>{R::Idle, R::Local, R::Local, R::Injection, R::Local, R::Local, R::Injection,
                                      R::Output}));
}

// Counts the backward-data GEMMs a Linear layer runs.
class CountingLinear : public Linear {
 public:
  using Linear::Linear;
  void backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, float* ws) override {
    ++calls;
    Linear::backward_data(dy, w, dx, ws);
  }
  int calls = 0;
};

std::vector<int> backward_data_calls(const char* mode) {
  Graph g;
  std::vector<CountingLinear*> linears;
  int x = Graph::kInput;
  for (int i = 0; i < 3; ++i) {
    auto l = std::make_unique<CountingLinear>("fc" + std::to_string(i), i == 0 ? 6 : 8, i == 2 ? 5 : 8, true,
                                              rng_key(3, RngStream::Init, i));
    linears.push_back(l.get());
    x = g.add(std::move(l), {x});
    if (i < 2) x = g.add(std::make_unique<Activation>("relu" + std::to_string(i), kRelu), {x});
  }
  g.setup({4, 6});
  Executor ex(g, modes_from(g, {{"default", {{"mode", mode}}}}), "naive", 5);
  Batch b = random_batch({6}, 4, 1);
  ex.train_step(b.images, b.labels, 0, 0);
  return {linears[0]->calls, linears[1]->calls, linears[2]->calls};
}

TEST(DfaMode, WeightedLayersSkipTheInputGradientGemm) {
  EXPECT_EQ(backward_data_calls("exact"), (std::vector<int>{0, 1, 1}));  // the first reads the input
  EXPECT_EQ(backward_data_calls("dfa"), (std::vector<int>{0, 0, 0}));
}

TEST(DfaMode, HiddenGradientsAreLinearInFeedbackScaleAndTheClassifiersAreNot) {
  auto unit = small_cnn(2), twice = small_cnn(2);
  Executor a(*unit, modes_from(*unit, kDfaDefault), "static", 5);
  Executor b(*twice, modes_from(*twice, {{"default", {{"mode", "dfa"}, {"feedback_scale", 2.0}}}}), "static", 5);
  Batch batch = random_batch(sample_shape(*unit), 6, 4);
  a.train_step(batch.images, batch.labels, 0, 1);
  b.train_step(batch.images, batch.labels, 0, 1);
  auto ga = grads_of(*unit), gb = grads_of(*twice);
  const size_t classifier = ga.size() - 2;  // weight and bias of the last layer
  for (size_t k = 0; k < ga.size(); ++k) {
    std::vector<float> doubled = ga[k];
    for (float& v : doubled) v *= 2;  // exact in binary floating point, as is the whole chain
    if (k >= classifier) EXPECT_EQ(gb[k], ga[k]) << "classifier parameter " << k;
    else EXPECT_EQ(gb[k], doubled) << "hidden parameter " << k;
  }
}

TEST(DfaMode, IsANetworkLevelScheduleThatRefusesPerLayerMixing) {
  auto g = small_cnn(1);
  try {
    Executor ex(*g, modes_from(*g, {{"default", {{"mode", "dfa"}}}, {"layers", {{{"match", "9"}, {"mode", "exact"}}}}}),
                "naive", 5);
    FAIL() << "dfa mixed with exact was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("layer '9'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("network-level"), std::string::npos) << e.what();
  }
}

TEST(DfaMode, TrainsAnMlpOnASeparableProblem) {
  // Three Gaussian clusters in 16 dimensions: DFA must bring the loss well below chance (ln 5 = 1.61).
  auto g = small_mlp(3, 2, 32);
  Executor ex(*g, modes_from(*g, kDfaDefault), "static", 5);
  auto opt = make_sgd(g->trainable_parameters(), {0.9f, 0.0f, 0.0f, false});
  Tensor centers = Tensor::empty({5, 16});
  rng_normal(rng_key(1, RngStream::Test, 0), centers.f32(), 80, 0.0f, 1.5f);
  float first = 0, last = 0;
  for (int step = 0; step < 80; ++step) {
    Batch b = random_batch({1, 4, 4}, 32, step);
    for (int n = 0; n < 32; ++n)
      for (int k = 0; k < 16; ++k) {
        float& v = b.images.f32()[n * 16 + k];
        v = 0.5f * v + centers.f32()[b.labels.data<int32_t>()[n] * 16 + k];
      }
    float loss = ex.train_step(b.images, b.labels, step, 0).loss;
    opt->step(0.05f);
    if (step == 0) first = loss;
    last = loss;
  }
  EXPECT_GT(first, 1.2f);
  EXPECT_LT(last, 0.3f);
}

}  // namespace
}  // namespace frugal
