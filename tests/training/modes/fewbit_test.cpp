// The fewbit backward mode: what it keeps and stashes, its backward against dy * level[code(x)],
// its derivative error on normal inputs against the table's error, whole-network agreement with exact
// backprop (bit-identical for ReLU/LeakyReLU, weight-gradient cosine thresholds per bit width for
// smooth activations), and its config knobs.
#include "tests/training/config_sections.h"
#include "training/modes/fewbit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "ops/activation.h"
#include "ops/packed_codes.h"
#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

using nlohmann::json;

std::unique_ptr<FewbitMode> mode_for(const Layer& layer, int bits) {
  return std::make_unique<FewbitMode>(layer, bits, FewbitWeighting::Normal);
}

Tensor normal_tensor(const Shape& shape, uint64_t step, float scale = 1.0f) {
  Tensor t = Tensor::empty(shape);
  rng_normal(rng_key(23, RngStream::Test, step), t.f32(), t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] *= scale;
  return t;
}

// Forward and the mode's backward of one activation layer on [rows, cols]; returns dx.
Tensor run_layer(Activation& layer, FewbitMode& mode, const Tensor& x, const Tensor& dy) {
  Tensor y = Tensor::empty(x.shape());
  ForwardArgs fa;
  fa.inputs = {&x};
  fa.output = &y;
  layer.forward(fa);
  const auto specs = mode.stash_specs(layer);
  Tensor stash = Tensor::empty(specs.at(0).shape, specs.at(0).dtype);
  mode.after_forward(layer, fa, {&stash});
  Tensor dx = Tensor::empty(x.shape());
  BackwardArgs ba;
  ba.inputs = {nullptr};  // the mode keeps nothing: it must not read them
  ba.output = nullptr;
  ba.grad_output = &dy;
  ba.grad_inputs = {&dx};
  mode.backward(layer, ba, {&stash});
  return dx;
}

TEST(FewbitMode, KeepsNothingAndStashesPackedCodesOfTheBitWidth) {
  Activation gelu("act", default_activation_spec(ActivationKind::GELU));
  gelu.setup({Shape{4, 37}});
  for (int bits = 1; bits <= 4; ++bits) {
    auto mode = mode_for(gelu, bits);
    const SavedNeeds keeps = mode->keeps(gelu);
    EXPECT_EQ(keeps.inputs, std::vector<bool>{false});
    EXPECT_FALSE(keeps.output);
    EXPECT_TRUE(keeps.aux.empty());
    const auto specs = mode->stash_specs(gelu);
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].dtype, DType::U8);
    EXPECT_EQ(specs[0].bytes(), static_cast<size_t>((148 * bits + 7) / 8)) << bits << " bits";
  }
  Activation relu("relu", default_activation_spec(ActivationKind::ReLU));
  relu.setup({Shape{4, 37}});
  EXPECT_EQ(mode_for(relu, 3)->stash_specs(relu)[0].bytes(), 19u);  // 1 bit whatever was asked
}

TEST(FewbitMode, BackwardIsGradientTimesLevelOfTheInputsInterval) {
  for (ActivationKind kind : {ActivationKind::GELU, ActivationKind::Tanh, ActivationKind::ELU}) {
    Activation layer("act", default_activation_spec(kind));
    layer.setup({Shape{8, 131}});
    for (int bits = 1; bits <= 4; ++bits) {
      auto mode = mode_for(layer, bits);
      const FewbitTable& t = *mode->table();
      const Tensor x = normal_tensor({8, 131}, 10 * bits, 2.0f), dy = normal_tensor({8, 131}, 10 * bits + 1);
      const Tensor dx = run_layer(layer, *mode, x, dy);
      int64_t wrong = 0;
      for (int64_t i = 0; i < x.numel(); ++i) {
        const size_t code = std::lower_bound(t.borders.begin(), t.borders.end(), x.f32()[i]) - t.borders.begin();
        wrong += dx.f32()[i] != dy.f32()[i] * t.levels[code];
      }
      EXPECT_EQ(wrong, 0) << activation_name(kind) << " " << bits << " bits";
    }
  }
}

TEST(FewbitMode, MeanSquaredDerivativeErrorOnNormalInputsIsTheTablesError) {
  // With dy = 1, dx is q(x); over x ~ N(0, 1) the mean of (q(x) - f'(x))^2 estimates the table's
  // normal-weighted error. Bound: 5 standard errors of the sample mean.
  const int64_t n = 1 << 18;
  for (ActivationKind kind : {ActivationKind::GELU, ActivationKind::SiLU, ActivationKind::Sigmoid}) {
    const ActivationSpec spec = default_activation_spec(kind);
    Activation layer("act", spec);
    layer.setup({Shape{n}});
    for (int bits : {1, 3}) {
      auto mode = mode_for(layer, bits);
      const Tensor x = normal_tensor({n}, 100 + bits);
      Tensor ones = Tensor::empty({n});
      std::fill(ones.f32(), ones.f32() + n, 1.0f);
      const Tensor dx = run_layer(layer, *mode, x, ones);
      double sum = 0, sum2 = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double e = dx.f32()[i] - activation_derivative(spec, x.f32()[i]), e2 = e * e;
        sum += e2;
        sum2 += e2 * e2;
      }
      const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / n);
      EXPECT_NEAR(mean, mode->table()->error, 5 * se) << activation_name(kind) << " " << bits << " bits";
    }
  }
}

// --- whole networks against exact backprop ---

struct Batch {
  Tensor images, labels;
};

Batch random_batch(const Shape& images, int64_t classes, uint64_t seed) {
  Batch b{normal_tensor(images, 1000 + seed), Tensor::empty({images[0]}, DType::I32)};
  for (int64_t i = 0; i < images[0]; ++i) b.labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7 + seed) % classes);
  return b;
}

// linear-act-linear-act-linear-act-linear on 48 features, 5 classes.
std::unique_ptr<Graph> mlp(const ActivationSpec& act, uint64_t seed) {
  ModelBuilder b(seed, Shape{48});
  int x = b.input();
  const int64_t widths[] = {64, 64, 32};
  for (int k = 0; k < 3; ++k) {
    x = b.linear("fc" + std::to_string(k + 1), x, widths[k]);
    x = b.activation("act" + std::to_string(k + 1), x, act);
  }
  b.linear("head", x, 5);
  return b.finish();
}

// conv-BN-act twice, global average pool, linear; inputs [3, 8, 7], 5 classes.
std::unique_ptr<Graph> cnn(const ActivationSpec& act, uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 8, 7});
  int x = b.conv("conv1", b.input(), 8, 3, 1, 1, false);
  x = b.batchnorm("bn1", x);
  x = b.activation("act1", x, act);
  x = b.conv("conv2", x, 8, 3, 1, 1, false);
  x = b.batchnorm("bn2", x);
  x = b.activation("act2", x, act);
  x = b.global_avgpool("pool", x);
  b.linear("fc", x, 5);
  return b.finish();
}

// Gradients of every trainable parameter after one step of `graph` with `backward` modes.
std::vector<std::vector<float>> gradients(Graph& graph, const json& backward, const Batch& batch) {
  Executor ex(graph, testing_support::assign_modes(graph, backward, 3), "static", 5);
  ex.train_step(batch.images, batch.labels, 0, 3);
  std::vector<std::vector<float>> out;
  for (Parameter* p : graph.trainable_parameters()) out.emplace_back(p->grad.f32(), p->grad.f32() + p->grad.numel());
  return out;
}

json fewbit_everywhere(int bits) { return {{"default", {{"mode", "fewbit"}, {"bits", bits}}}}; }
const json kExact = {{"default", {{"mode", "exact"}}}};

bool bitwise_equal(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(FewbitMode, ReluAndLeakyReluNetworksGetBitIdenticalGradientsToExact) {
  ActivationSpec leaky = default_activation_spec(ActivationKind::LeakyReLU);
  leaky.alpha = 0.1f;
  for (const ActivationSpec& act : {default_activation_spec(ActivationKind::ReLU), leaky}) {
    const Batch mb = random_batch({16, 48}, 5, 1), cb = random_batch({6, 3, 8, 7}, 5, 2);
    auto exact_mlp = mlp(act, 4), fewbit_mlp = mlp(act, 4);
    EXPECT_TRUE(bitwise_equal(gradients(*exact_mlp, kExact, mb), gradients(*fewbit_mlp, fewbit_everywhere(1), mb)))
        << activation_name(act.kind) << " MLP";
    auto exact_cnn = cnn(act, 5), fewbit_cnn = cnn(act, 5);
    EXPECT_TRUE(bitwise_equal(gradients(*exact_cnn, kExact, cb), gradients(*fewbit_cnn, fewbit_everywhere(1), cb)))
        << activation_name(act.kind) << " CNN";
  }
}

// Smallest cosine similarity between fewbit's and exact's weight gradient over the conv and linear
// layers. (BN's gamma gradient, a sum of dy * xhat with heavy cancellation, is noisier and left out.)
double min_weight_gradient_cosine(std::unique_ptr<Graph> (*build)(const ActivationSpec&, uint64_t),
                                  const ActivationSpec& act, int bits, const Batch& batch, uint64_t seed) {
  auto exact_graph = build(act, seed), fewbit_graph = build(act, seed);
  const auto want = gradients(*exact_graph, kExact, batch);
  const auto got = gradients(*fewbit_graph, fewbit_everywhere(bits), batch);
  const auto params = fewbit_graph->trainable_parameters();
  double worst = 1.0;
  for (int node = 0; node < fewbit_graph->size(); ++node)
    if (auto* weighted = dynamic_cast<WeightedLayer*>(&fewbit_graph->layer(node))) {
      const size_t i = std::find(params.begin(), params.end(), &weighted->weight()) - params.begin();
      worst = std::min(worst, cosine(got.at(i), want.at(i)));
    }
  return worst;
}

TEST(FewbitMode, WeightGradientsAgreeWithExactAboveAThresholdPerBitWidth) {
  // Per bit width, the smallest per-layer (conv/linear) weight-gradient cosine similarity with exact
  // backprop, over an MLP and a conv-BN CNN for every smooth activation kind, on the same batch and
  // weights. Minima measured over 6 seeds: 0.591 (1 bit), 0.920 (2), 0.983 (3), 0.9958 (4) — the GELU
  // MLP's first layer is the weakest; thresholds leave margin below them.
  const ActivationKind kinds[] = {ActivationKind::GELU, ActivationKind::SiLU, ActivationKind::ELU,
                                  ActivationKind::Softplus, ActivationKind::Tanh, ActivationKind::Sigmoid};
  const double threshold[5] = {0, 0.40, 0.85, 0.95, 0.98};  // index = bits
  const uint64_t seed = 7;
  const Batch mb = random_batch({32, 48}, 5, 11 + seed), cb = random_batch({16, 3, 8, 7}, 5, 12 + seed);
  for (int bits = 1; bits <= 4; ++bits)
    for (ActivationKind kind : kinds) {
      const ActivationSpec act = default_activation_spec(kind);
      const double m = min_weight_gradient_cosine(mlp, act, bits, mb, seed);
      const double c = min_weight_gradient_cosine(cnn, act, bits, cb, seed);
      EXPECT_GT(m, threshold[bits]) << activation_name(kind) << " MLP, " << bits << " bits";
      EXPECT_GT(c, threshold[bits]) << activation_name(kind) << " CNN, " << bits << " bits";
    }
}


// --- planning and config ---

TEST(FewbitMode, ActivationInputIsNoLongerKeptAndTheStashIsItsPackedCodes) {
  // fc1 -> GELU: under exact, GELU keeps its input (fc1's output) for the backward; under fewbit only
  // 3-bit codes are stashed and fc1's output dies after the forward.
  for (const json& backward : {kExact, fewbit_everywhere(3)}) {
    auto graph = mlp(default_activation_spec(ActivationKind::GELU), 1);
    Executor ex(*graph, testing_support::assign_modes(*graph, backward, 0), "static", 5);
    const StepPlan& plan = ex.training_plan(16);
    const int fc1 = graph->find("fc1"), act1 = graph->find("act1");
    const MemoryCategory fc1_output = plan.step.buffers[plan.nodes[fc1].output].category;
    const bool fewbit = backward == fewbit_everywhere(3);
    EXPECT_EQ(fc1_output, fewbit ? MemoryCategory::Activations : MemoryCategory::Stash);
    ASSERT_EQ(plan.nodes[act1].stash.size(), fewbit ? 1u : 0u);
    if (fewbit) {
      EXPECT_EQ(plan.step.buffers[plan.nodes[act1].stash[0]].bytes, packed_bytes(16 * 64, 3));
    }
  }
}

TEST(FewbitMode, FactoryDefaultsToThreeBitsWithNormalWeightingAndDescribesItsKnobs) {
  auto graph = mlp(default_activation_spec(ActivationKind::GELU), 1);
  auto modes = testing_support::assign_modes(*graph, {{"default", {{"mode", "fewbit"}}}}, 0);
  EXPECT_EQ(modes[graph->find("act1")]->describe(), "fewbit(bits=3)");
  EXPECT_EQ(modes[graph->find("fc1")]->name(), "exact");  // the default falls back where fewbit cannot serve
  modes = testing_support::assign_modes(*graph, {{"default", {{"mode", "fewbit"}, {"bits", 2}, {"weighting", "uniform"}}}}, 0);
  EXPECT_EQ(modes[graph->find("act2")]->describe(), "fewbit(bits=2, weighting=uniform)");
  auto relu_graph = mlp(default_activation_spec(ActivationKind::ReLU), 1);
  modes = testing_support::assign_modes(*relu_graph, {{"default", {{"mode", "fewbit"}, {"bits", 4}}}}, 0);
  EXPECT_EQ(modes[relu_graph->find("act1")]->describe(), "fewbit(bits=1)");
}

TEST(FewbitMode, SupportsEveryActivationKindAndNothingElse) {
  for (ActivationKind kind : {ActivationKind::ReLU, ActivationKind::LeakyReLU, ActivationKind::GELU, ActivationKind::SiLU,
                              ActivationKind::Tanh, ActivationKind::Sigmoid, ActivationKind::ELU, ActivationKind::Softplus}) {
    Activation layer("act", default_activation_spec(kind));
    EXPECT_TRUE(mode_for(layer, 2)->supports(layer)) << activation_name(kind);
  }
  auto graph = mlp(default_activation_spec(ActivationKind::GELU), 1);
  EXPECT_FALSE(mode_for(graph->layer(graph->find("fc1")), 2)->supports(graph->layer(graph->find("fc1"))));
  const json on_linear = {{"layers", {{{"match", "fc1"}, {"mode", "fewbit"}}}}};
  EXPECT_THROW(testing_support::assign_modes(*graph, on_linear, 0), ConfigError);
}

// The ConfigError's message for `entry` on the GELU MLP (empty when none is thrown).
std::string config_error(const json& entry) {
  auto graph = mlp(default_activation_spec(ActivationKind::GELU), 1);
  try {
    testing_support::assign_modes_unchecked(*graph, {{"layers", {entry}}}, 0);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(FewbitMode, BadKnobsAreConfigErrorsNamingKnobValueAndLayer) {
  const json base = {{"match", "act2"}, {"mode", "fewbit"}};
  json e = base;
  e["bits"] = 5;
  EXPECT_NE(config_error(e).find("'bits' must be in 1..4, got 5"), std::string::npos) << config_error(e);
  EXPECT_NE(config_error(e).find("act2"), std::string::npos);
  e["bits"] = 0;
  EXPECT_NE(config_error(e).find("got 0"), std::string::npos);
  e = base;
  e["weighting"] = "laplace";
  EXPECT_NE(config_error(e).find("'weighting'"), std::string::npos);
  EXPECT_NE(config_error(e).find("laplace"), std::string::npos);
  e = base;
  e["probes"] = 4;
  EXPECT_NE(config_error(e).find("knob 'probes'"), std::string::npos) << config_error(e);
  e = base;
  e["bits"] = 4;
  EXPECT_EQ(config_error(e), "");
}

}  // namespace
}  // namespace frugal
