// The randomized_trace mode inside a network: what it keeps, which gradients stay exact, and that the
// probes the forward pass sketched with are the ones the backward pass regenerates (otherwise the
// estimate would not average to the exact gradient over steps).
#include <gtest/gtest.h>

#include <cmath>

#include "tests/training/config_sections.h"
#include "core/error.h"
#include "training/executor.h"
#include "training/models/model_builder.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

const ActivationSpec kRelu = default_activation_spec(ActivationKind::ReLU);
constexpr int64_t kBatch = 4;

// conv1 -> relu -> conv2 (stride 2, non-square input) -> flatten -> fc.
std::unique_ptr<Graph> small_cnn(uint64_t seed) {
  ModelBuilder b(seed, Shape{3, 9, 7});
  int x = b.conv("conv1", b.input(), 4, 3, 1, 1, true);
  x = b.activation("relu", x, kRelu);
  x = b.conv("conv2", x, 5, 3, 2, 1, true);
  x = b.flatten("flat", x);
  b.linear("fc", x, 3);
  return b.finish();
}

nlohmann::json trace_on(const std::string& probe_mode, int64_t probes) {
  return {{"default", {{"mode", "exact"}}},
          {"layers",
           {{{"match", "conv2"}, {"mode", "randomized_trace"}, {"probes", probes}, {"probe_mode", probe_mode}},
            {{"match", "fc"}, {"mode", "randomized_trace"}, {"probes", 2}, {"probe_mode", "gaussian"}}}}};
}

struct Net {
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Executor> executor;
};

Net make_net(const nlohmann::json& backward, uint64_t seed = 3) {
  Net n;
  n.graph = small_cnn(seed);
  n.executor = std::make_unique<Executor>(*n.graph, testing_support::assign_modes(*n.graph, backward, seed), "static", 3);
  return n;
}

Tensor random_images(uint64_t seed) {
  Tensor t = Tensor::empty({kBatch, 3, 9, 7});
  rng_normal(rng_key(seed, RngStream::Test, 0), t.f32(), t.numel());
  return t;
}

Tensor labels() {
  Tensor t = Tensor::empty({kBatch}, DType::I32);
  for (int64_t i = 0; i < kBatch; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(i % 3);
  return t;
}

std::vector<float> grad_of(Graph& g, const std::string& name) {
  for (Parameter* p : g.trainable_parameters())
    if (p->name == name) return {p->grad.f32(), p->grad.f32() + p->grad.numel()};
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

TEST(RandomizedTraceMode, StashesOnlyTheSketchInsteadOfTheInput) {
  Net net = make_net(trace_on("independent", 8));
  const StepPlan& plan = net.executor->training_plan(kBatch);
  const int conv2 = net.graph->find("conv2"), fc = net.graph->find("fc");
  EXPECT_FALSE(plan.nodes[conv2].keeps.inputs[0]);
  EXPECT_FALSE(plan.nodes[fc].keeps.inputs[0]);
  ASSERT_EQ(plan.nodes[conv2].stash.size(), 1u);
  // conv2 input [4, 4, 9, 7]: independent sketch [N, C, r] = 4*4*8 floats, r/(H*W) of the input.
  EXPECT_EQ(plan.step.buffers[plan.nodes[conv2].stash[0]].bytes, size_t{4 * kBatch * 4 * 8});
  // fc input [4, 5*5*4]: gaussian sketch [N, r].
  EXPECT_EQ(plan.step.buffers[plan.nodes[fc].stash[0]].bytes, size_t{4 * kBatch * 2});
  EXPECT_EQ(net.executor->mode(conv2).describe(), "randomized_trace(probes=8, independent, rademacher)");
}

TEST(RandomizedTraceMode, DataAndBiasGradientsStayExact) {
  Net exact = make_net({{"default", {{"mode", "exact"}}}});
  Net approx = make_net(trace_on("gaussian", 8));
  const Tensor images = random_images(1), y = labels();
  exact.executor->train_step(images, y, 0, 3);
  approx.executor->train_step(images, y, 0, 3);
  // conv1 only sees dX of conv2 and fc, computed by the same kernels, so its gradients are bit-identical.
  for (const char* name : {"conv1.weight", "conv1.bias"})
    EXPECT_EQ(grad_of(*exact.graph, name), grad_of(*approx.graph, name)) << name;
  // The biases are exact sums of dY, added in another order than the fused exact kernel does.
  for (const char* name : {"conv2.bias", "fc.bias"}) {
    const std::vector<float> a = grad_of(*exact.graph, name), b = grad_of(*approx.graph, name);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6 * (1 + std::abs(a[i]))) << name;
  }
  EXPECT_NE(grad_of(*exact.graph, "conv2.weight"), grad_of(*approx.graph, "conv2.weight"));
  EXPECT_NE(grad_of(*exact.graph, "fc.weight"), grad_of(*approx.graph, "fc.weight"));
}

// Over many steps (new probes each) the mean weight gradient approaches the exact one at the
// 1/sqrt(steps) rate. Measured error / sqrt(variance / steps): 1.02..1.17.
TEST(RandomizedTraceMode, MeanOverStepsConvergesToTheExactWeightGradient) {
  const Tensor images = random_images(2), y = labels();
  Net exact = make_net({{"default", {{"mode", "exact"}}}});
  exact.executor->train_step(images, y, 0, 3);
  for (const char* probe_mode : {"independent", "orthogonal"}) {
    Net approx = make_net(trace_on(probe_mode, 4));
    for (const char* name : {"conv2.weight", "fc.weight"}) {
      const std::vector<float> target = grad_of(*exact.graph, name);
      const int steps = 200;
      std::vector<double> sum(target.size(), 0.0), sum2(target.size(), 0.0);
      for (int s = 0; s < steps; ++s) {
        approx.executor->train_step(images, y, static_cast<uint64_t>(s), 3);
        const std::vector<float> g = grad_of(*approx.graph, name);
        for (size_t i = 0; i < g.size(); ++i) sum[i] += g[i], sum2[i] += double(g[i]) * g[i];
      }
      double err2 = 0, var = 0;
      for (size_t i = 0; i < target.size(); ++i) {
        const double mean = sum[i] / steps;
        err2 += (mean - target[i]) * (mean - target[i]);
        var += (sum2[i] / steps - mean * mean) * steps / (steps - 1);
      }
      ASSERT_GT(var, 0.0) << name;
      const double ratio = std::sqrt(err2) / std::sqrt(var / steps);
      EXPECT_LT(ratio, 2.5) << probe_mode << " " << name;
      EXPECT_GT(ratio, 0.25) << probe_mode << " " << name;
    }
  }
}

TEST(RandomizedTraceMode, ServesConvAndLinearAsDefaultGivesReluOneBitMasks) {
  ModelBuilder b(1, Shape{4, 6, 6});
  int x = b.conv("depthwise", b.input(), 4, 3, 1, 1, false, 4);
  x = b.activation("relu", x, kRelu);
  x = b.flatten("flat", x);
  b.linear("fc", x, 2);
  auto g = b.finish();
  auto modes = testing_support::assign_modes(*g, {{"default", {{"mode", "randomized_trace"}}}}, 1);
  EXPECT_EQ(modes[0]->name(), "exact");  // the default falls back where the mode cannot serve
  // The ReLU gets its exact derivative as a 1-bit mask, so it does not keep its output (the conv
  // input the sketch replaces); other unsupported layers stay exact.
  EXPECT_EQ(modes[1]->name(), "fewbit");
  EXPECT_FALSE(modes[1]->keeps(g->layer(1)).output);
  EXPECT_NE(modes[1]->describe().find("bits=1"), std::string::npos) << modes[1]->describe();
  EXPECT_EQ(modes[2]->name(), "exact");
  EXPECT_EQ(modes[3]->name(), "randomized_trace");
  // An explicit exact override on the ReLU wins over the default's choice.
  auto overridden = testing_support::assign_modes(
      *g, {{"default", {{"mode", "randomized_trace"}}}, {"layers", {{{"match", "relu"}, {"mode", "exact"}}}}}, 1);
  EXPECT_EQ(overridden[1]->name(), "exact");
  try {
    testing_support::assign_modes(*g, {{"layers", {{{"match", "relu"}, {"mode", "randomized_trace"}}}}}, 1);
    FAIL() << "an explicit override on a ReLU must be refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("relu"), std::string::npos) << e.what();
  }
}

TEST(RandomizedTraceMode, BadKnobsAreConfigErrorsNamingKnobValueAndLayer) {
  auto g = small_cnn(1);
  auto expect_error = [&](const nlohmann::json& knobs, const std::string& knob, const std::string& value) {
    nlohmann::json entry = {{"match", "conv2"}, {"mode", "randomized_trace"}};
    entry.update(knobs);
    try {
      testing_support::assign_modes_unchecked(*g, {{"layers", {entry}}}, 1);
      FAIL() << "accepted " << knobs.dump();
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      for (const std::string& part : {knob, value, std::string("conv2")})
        EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  };
  expect_error({{"probes", 0}}, "probes", "0");
  expect_error({{"probe_mode", "sparse"}}, "probe_mode", "sparse");
  expect_error({{"probe_distribution", "uniform"}}, "probe_distribution", "uniform");
  expect_error({{"bits", 4}}, "bits", "4");
}

}  // namespace
}  // namespace frugal
