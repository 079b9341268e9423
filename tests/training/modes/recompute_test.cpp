// recompute mode (training/modes/recompute.h): bit for bit exact backpropagation, for any set of
// layers, on chains and residual networks, with BatchNorm and dropout; what the step plan schedules.
#include "training/modes/recompute.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "training/executor.h"
#include "training/models/models.h"
#include "training/modes/registry.h"
#include "tests/training/executor_test_util.h"
#include "tests/training/config_sections.h"

namespace frugal {
namespace {

using nlohmann::json;

struct Net {
  json model;
  Shape sample;
};

Net mlp() { return {{{"arch", "mlp"}, {"hidden", {24, 16}}, {"dropout", 0.25}}, Shape{1, 6, 6}}; }
Net cnn() {
  return {{{"arch", "cnn"}, {"channels", {4, 8}}, {"hidden", {16}}, {"dropout", 0.25}}, Shape{1, 12, 12}};
}
Net resnet20() { return {{{"arch", "resnet"}, {"depth", 20}, {"width", 4}}, Shape{3, 8, 8}}; }

// Every parameter value (BN running statistics and batch counts included) and gradient, as bytes.
std::vector<std::string> state_of(Graph& g) {
  std::vector<std::string> out;
  for (Parameter* p : g.parameters()) {
    out.emplace_back(static_cast<const char*>(p->value.raw()), p->value.nbytes());
    if (p->grad.defined()) out.emplace_back(static_cast<const char*>(p->grad.raw()), p->grad.nbytes());
  }
  return out;
}

struct Trace {
  std::vector<std::vector<std::string>> states;  // after each step
  std::vector<float> losses;
  size_t peak = 0;  // live-bytes peak of the step
};

// Three training steps (no optimizer: gradients and BN statistics are compared after each).
Trace train(const Net& net, const json& backward) {
  const int64_t classes = 5, batch = 6;
  auto g = build_model(testing_support::validated_section("model", net.model), net.sample, classes, 7);
  Executor ex(*g, testing_support::assign_modes(*g, backward, 7), "static", classes);
  Trace r;
  for (uint64_t step = 0; step < 3; ++step) {
    const test::Batch b = test::random_batch(batch, net.sample, classes, 11 + step);
    r.losses.push_back(ex.train_step(b.images, b.labels, step, 3).loss);
    r.states.push_back(state_of(*g));
  }
  r.peak = lower_bound_bytes(ex.training_plan(batch).step);
  return r;
}

json uniform(const std::string& mode) { return {{"default", {{"mode", mode}}}}; }

// `mode` on every node whose index is `parity` mod 2 (by the order of the layers), exact elsewhere.
json alternate(const Net& net, int parity) {
  auto g = build_model(testing_support::validated_section("model", net.model), net.sample, 5, 7);
  json layers = json::array();
  for (int i = 0; i < g->size(); ++i)
    if (i % 2 == parity) layers.push_back({{"match", g->layer(i).name()}, {"mode", "recompute"}});
  return {{"default", {{"mode", "exact"}}}, {"layers", layers}};
}

void expect_identical(const Trace& a, const Trace& b, const std::string& what) {
  EXPECT_EQ(a.losses, b.losses) << what;
  ASSERT_EQ(a.states.size(), b.states.size());
  for (size_t s = 0; s < a.states.size(); ++s) {
    ASSERT_EQ(a.states[s].size(), b.states[s].size());
    for (size_t t = 0; t < a.states[s].size(); ++t)
      EXPECT_TRUE(a.states[s][t] == b.states[s][t]) << what << ": step " << s << ", tensor " << t;
  }
}

void check_net(const Net& net, const std::vector<std::string>& recompute_patterns) {
  const Trace exact = train(net, uniform("exact"));
  expect_identical(exact, train(net, uniform("recompute")), "all recompute");
  expect_identical(exact, train(net, alternate(net, 0)), "even layers recompute");
  expect_identical(exact, train(net, alternate(net, 1)), "odd layers recompute");
  for (const std::string& pattern : recompute_patterns) {
    const json b = {{"default", {{"mode", "exact"}}}, {"layers", {{{"match", pattern}, {"mode", "recompute"}}}}};
    expect_identical(exact, train(net, b), pattern);
  }
}

TEST(Recompute, MlpWithDropoutIsBitIdenticalToExact) { check_net(mlp(), {"1", "2", "4", "5"}); }

TEST(Recompute, CnnWithBatchNormAndPoolingIsBitIdenticalToExact) { check_net(cnn(), {"1", "5", "3", "2", "8*"}); }

TEST(Recompute, ResNet20IsBitIdenticalToExact) {
  check_net(resnet20(), {"*bn*", "*conv*", "*.add", "*relu*", "layer2.*", "layer1.0.*", "*downsample*"});
}

TEST(Recompute, BesideApproximateModesEqualsExactOnItsLayers) {
  // Quantized ReLUs keep no float tensor: a recomputed conv after one rebuilds its input from further back.
  const json base = {{"default", {{"mode", "quantized"}, {"bits", 4}}}};
  json with = base;
  with["layers"] = {{{"match", "*conv2"}, {"mode", "recompute"}}, {{"match", "fc"}, {"mode", "recompute"}}};
  json without = base;
  without["layers"] = {{{"match", "*conv2"}, {"mode", "exact"}}, {{"match", "fc"}, {"mode", "exact"}}};
  expect_identical(train(resnet20(), without), train(resnet20(), with), "quantized around recompute");
}

TEST(Recompute, BatchNormSegmentsStoreNoConvOutputs) {
  // Recomputing each BatchNorm from its conv's input (kept by the conv) frees every conv output.
  const Net net = resnet20();
  const Trace exact = train(net, uniform("exact"));
  const json bn = {{"default", {{"mode", "exact"}}}, {"layers", {{{"match", "*bn*"}, {"mode", "recompute"}}}}};
  EXPECT_LT(train(net, bn).peak, exact.peak);
}

TEST(Recompute, PlanSchedulesReRunsBeforeTheSegmentsLastBackward) {
  const Net net = cnn();
  auto g = build_model(testing_support::validated_section("model", net.model), net.sample, 5, 7);
  const json b = {{"default", {{"mode", "exact"}}}, {"layers", {{{"match", "1"}, {"mode", "recompute"}}}}};
  Executor ex(*g, testing_support::assign_modes(*g, b, 7), "static", 5);
  const StepPlan& plan = ex.training_plan(4);
  const int bn = g->find("1"), conv = g->find("0");
  ASSERT_EQ(plan.recompute.size(), 1u);
  const RecomputePass& pass = plan.recompute[0];
  EXPECT_EQ(pass.first, bn);
  EXPECT_EQ(pass.last, bn);
  // The BN's statistics come from re-running it, and its input from re-running the conv, which reads
  // the network input (kept by the conv for its own backward).
  ASSERT_EQ(pass.nodes.size(), 2u);
  EXPECT_EQ(pass.nodes[0].node, conv);
  EXPECT_EQ(pass.nodes[1].node, bn);
  EXPECT_EQ(pass.nodes[0].inputs[0], plan.input);
  EXPECT_EQ(plan.nodes[bn].saved_inputs[0], pass.nodes[0].output);
  EXPECT_EQ(plan.nodes[bn].saved_aux, pass.nodes[1].aux);
  EXPECT_EQ(pass.nodes[1].time + 1, plan.backward_time(bn));
  EXPECT_EQ(plan.step.schedule[pass.nodes[0].time].phase, "recompute");
  // The conv's own output lives only until the BN's forward read it.
  EXPECT_EQ(plan.step.buffers[plan.nodes[conv].output].last_use, plan.forward_time(bn));
}

TEST(Recompute, KnobsAreRefused) {
  auto g = build_model(testing_support::validated_section("model", cnn().model), cnn().sample, 5, 7);
  EXPECT_THROW(testing_support::assign_modes(*g, {{"default", {{"mode", "recompute"}, {"bits", 2}}}}, 0), ConfigError);
}

}  // namespace
}  // namespace frugal
