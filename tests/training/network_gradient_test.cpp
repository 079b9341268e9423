// Whole-network checks of the executor with exact backprop: gradients against finite differences of
// the loss, and bit-identical determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/exact.h"
#include "tests/training/executor_test_util.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);

// conv-BN-ReLU, a residual block with a projection shortcut (stride 2), global pool, linear.
std::unique_ptr<Graph> small_residual_cnn(uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 8, 7});
  int x = b.conv("conv1", b.input(), 4, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("relu", x, kRelu);
  int y = b.conv("block.conv1", x, 6, 3, 2, 1, false);
  y = b.batchnorm("block.bn1", y);
  y = b.activation("block.relu1", y, default_activation_spec(ActivationKind::GELU));
  y = b.conv("block.conv2", y, 6, 3, 1, 1, true);
  y = b.batchnorm("block.bn2", y);
  int s = b.conv("block.downsample.0", x, 6, 1, 2, 0, false);
  s = b.batchnorm("block.downsample.1", s);
  y = b.add("block.add", y, s);
  y = b.activation("block.relu2", y, default_activation_spec(ActivationKind::Tanh));
  y = b.global_avgpool("pool", y);
  b.linear("fc", y, 5);
  return b.finish();
}

using test::Batch;
using test::exact_modes;

Batch random_batch(int64_t n, uint64_t seed) { return test::random_batch(n, Shape{3, 8, 7}, 5, seed); }

// Loss at the current weights; BN running statistics are restored so repeated calls see the same model.
float loss_at(Executor& ex, Graph& g, const Batch& b) {
  std::vector<Tensor> saved;
  for (Parameter* p : g.parameters()) saved.push_back(p->value.clone());
  float loss = ex.train_step(b.images, b.labels, 0, 0).loss;
  auto params = g.parameters();
  for (size_t i = 0; i < params.size(); ++i)
    if (!params[i]->trainable) params[i]->value.copy_from(saved[i]);
  return loss;
}

TEST(NetworkGradient, ResidualCnnMatchesFiniteDifferencesAlongRandomDirections) {
  auto g = small_residual_cnn(11);
  Executor ex(*g, exact_modes(*g), "naive", 5);
  Batch b = random_batch(6, 3);
  loss_at(ex, *g, b);
  std::vector<Tensor> grads;
  for (Parameter* p : g->trainable_parameters()) grads.push_back(p->grad.clone());

  // Directional derivative g.d against a central difference of the loss along d, for several d.
  // Unit-norm directions keep the step small enough that the loss stays smooth along it.
  const float eps = 2e-3f;
  for (uint64_t trial = 0; trial < 4; ++trial) {
    auto params = g->trainable_parameters();
    std::vector<Tensor> dirs;
    double norm2 = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor d = Tensor::empty(params[i]->value.shape());
      rng_normal(rng_key(trial, RngStream::Test, i), d.f32(), d.numel());
      for (int64_t k = 0; k < d.numel(); ++k) norm2 += double(d.f32()[k]) * d.f32()[k];
      dirs.push_back(d);
    }
    double analytic = 0;
    for (size_t i = 0; i < params.size(); ++i)
      for (int64_t k = 0; k < dirs[i].numel(); ++k) {
        dirs[i].f32()[k] = static_cast<float>(dirs[i].f32()[k] / std::sqrt(norm2));
        analytic += double(dirs[i].f32()[k]) * grads[i].f32()[k];
      }
    auto shift = [&](float s) {
      for (size_t i = 0; i < params.size(); ++i)
        for (int64_t k = 0; k < dirs[i].numel(); ++k) params[i]->value.f32()[k] += s * dirs[i].f32()[k];
    };
    shift(eps);
    double plus = loss_at(ex, *g, b);
    shift(-2 * eps);
    double minus = loss_at(ex, *g, b);
    shift(eps);
    double numeric = (plus - minus) / (2 * eps);
    EXPECT_NEAR(analytic, numeric, 1e-2 * std::abs(analytic) + 5e-4) << "direction " << trial;
  }
}

TEST(NetworkGradient, SingleWeightsMatchFiniteDifferences) {
  auto g = small_residual_cnn(5);
  Executor ex(*g, exact_modes(*g), "naive", 5);
  Batch b = random_batch(6, 9);
  loss_at(ex, *g, b);
  int checked = 0;
  for (Parameter* p : g->trainable_parameters()) {
    Tensor grad = p->grad.clone();
    // The largest-gradient entry of each parameter: a well-conditioned difference in float32.
    int64_t best = 0;
    for (int64_t k = 1; k < grad.numel(); ++k)
      if (std::abs(grad.f32()[k]) > std::abs(grad.f32()[best])) best = k;
    if (std::abs(grad.f32()[best]) < 1e-3f) continue;
    const float eps = 5e-3f, w = p->value.f32()[best];
    p->value.f32()[best] = w + eps;
    double plus = loss_at(ex, *g, b);
    p->value.f32()[best] = w - eps;
    double minus = loss_at(ex, *g, b);
    p->value.f32()[best] = w;
    double numeric = (plus - minus) / (2 * eps);
    EXPECT_NEAR(grad.f32()[best], numeric, 3e-2 * std::abs(numeric) + 1e-3) << p->name;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

std::vector<std::vector<float>> gradients_after_steps(uint64_t seed) {
  auto g = small_residual_cnn(seed);
  Executor ex(*g, exact_modes(*g), "static", 5);
  for (uint64_t step = 0; step < 2; ++step) {
    Batch b = random_batch(4, step);
    ex.train_step(b.images, b.labels, step, seed);
  }
  std::vector<std::vector<float>> out;
  for (Parameter* p : g->trainable_parameters()) out.emplace_back(p->grad.f32(), p->grad.f32() + p->grad.numel());
  return out;
}

TEST(NetworkGradient, SameSeedGivesBitIdenticalGradientsAndOtherSeedDiffers) {
  auto a = gradients_after_steps(7), b = gradients_after_steps(7), c = gradients_after_steps(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(NetworkGradient, AllPlannersGiveBitIdenticalGradients) {
  std::vector<std::vector<float>> reference;
  for (const char* planner : {"naive", "pool", "static"}) {
    auto g = small_residual_cnn(3);
    Executor ex(*g, exact_modes(*g), planner, 5);
    Batch b = random_batch(4, 1);
    ex.train_step(b.images, b.labels, 0, 3);
    std::vector<float> flat;
    for (Parameter* p : g->trainable_parameters())
      flat.insert(flat.end(), p->grad.f32(), p->grad.f32() + p->grad.numel());
    if (reference.empty()) reference.push_back(flat);
    else EXPECT_EQ(flat, reference[0]) << planner;
  }
}

}  // namespace
}  // namespace frugal
