// MEM-DFA: DFA's updates from two forward passes, updating each block as soon as it is done, with an
// activation peak that does not grow with depth.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/training/modes/feedback_test_util.h"
#include "training/modes/dfa.h"
#include "training/optim/sgd.h"
#include "training/schedules/mem_dfa_runner.h"

namespace frugal {
namespace {

using namespace feedback_test;

const SgdOptions kSgd{0.9f, 0.0f, 5e-4f, false};

std::vector<std::vector<float>> train_dfa(Graph& g, int steps, int64_t batch) {
  Executor ex(g, modes_from(g, {{"default", {{"mode", "dfa"}}}}), "static", 5);
  auto opt = make_sgd(g.trainable_parameters(), kSgd);
  for (int s = 0; s < steps; ++s) {
    Batch b = random_batch(sample_shape(g), batch, 40 + s);
    ex.train_step(b.images, b.labels, s, 7);
    opt->step(0.05f);
  }
  return values_of(g);
}

// One SGD per node, stepped by the runner as soon as the node's block is done.
std::vector<std::vector<float>> train_mem_dfa(Graph& g, int steps, int64_t batch) {
  Executor ex(g, modes_from(g, {{"default", {{"mode", "mem_dfa"}}}}), "static", 5);
  MemDfaRunner runner(ex, "static", 5);
  std::vector<std::unique_ptr<Optimizer>> per_node;
  for (int i = 0; i < g.size(); ++i) {
    std::vector<Parameter*> params;
    for (Parameter* p : g.layer(i).parameters())
      if (p->trainable) params.push_back(p);
    per_node.push_back(params.empty() ? nullptr : make_sgd(params, kSgd));
  }
  for (int s = 0; s < steps; ++s) {
    Batch b = random_batch(sample_shape(g), batch, 40 + s);
    runner.train_step(b.images, b.labels, s, 7, [&](int node) {
      if (per_node[node]) per_node[node]->step(0.05f);
    });
  }
  return values_of(g);
}

TEST(MemDfa, MlpWithDropoutGivesDfasWeightsBitForBit) {
  auto a = small_mlp(5, 3, 24, 0.3f), b = small_mlp(5, 3, 24, 0.3f);
  auto want = train_dfa(*a, 4, 8);
  auto got = train_mem_dfa(*b, 4, 8);
  EXPECT_EQ(got, want);
  EXPECT_NE(values_of(*small_mlp(5, 3, 24, 0.3f)), want);  // training moved the weights
}

TEST(MemDfa, CnnWithBatchNormGivesDfasWeightsAndRunningStatisticsBitForBit) {
  auto a = small_cnn(8, 0.25f), b = small_cnn(8, 0.25f);
  auto want = train_dfa(*a, 3, 6);
  auto got = train_mem_dfa(*b, 3, 6);
  EXPECT_EQ(got, want);  // values_of includes running_mean / running_var
  auto& bn = b->layer(1);
  EXPECT_EQ(bn.parameters()[4]->value.data<int64_t>()[0], 3);  // num_batches_tracked: once per step
}

TEST(MemDfa, WithoutAnUpdateCallbackLeavesDfasGradients) {
  auto a = small_cnn(3), b = small_cnn(3);
  Executor dfa(*a, modes_from(*a, {{"default", {{"mode", "dfa"}}}}), "static", 5);
  Executor ex(*b, modes_from(*b, {{"default", {{"mode", "mem_dfa"}}}}), "static", 5);
  MemDfaRunner runner(ex, "naive", 5);
  Batch batch = random_batch(sample_shape(*a), 6, 2);
  StepResult ra = dfa.train_step(batch.images, batch.labels, 0, 1);
  StepResult rb = runner.train_step(batch.images, batch.labels, 0, 1);
  EXPECT_EQ(ra.loss, rb.loss);
  EXPECT_EQ(ra.correct, rb.correct);
  EXPECT_EQ(grads_of(*b), grads_of(*a));
}

TEST(MemDfa, UpdatesEveryNodeOnceInBlockOrder) {
  auto g = small_cnn(3);
  Executor ex(*g, modes_from(*g, {{"default", {{"mode", "mem_dfa"}}}}), "static", 5);
  MemDfaRunner runner(ex, "static", 5);
  std::vector<int> order;
  Batch b = random_batch(sample_shape(*g), 4, 2);
  runner.train_step(b.images, b.labels, 0, 1, [&](int node) { order.push_back(node); });
  std::vector<int> want(g->size());
  for (int i = 0; i < g->size(); ++i) want[i] = i;
  EXPECT_EQ(order, want);
  // Blocks end at the injection points (pool, flatten, ReLU) and at the classifier.
  EXPECT_EQ(runner.plan(4).blocks, (std::vector<std::pair<int, int>>{{0, 3}, {4, 8}, {9, 10}, {11, 11}}));
}

// Largest activations + stash bytes live at once over the step.
size_t activation_peak(const StepDescription& step) {
  size_t peak = 0;
  for (const CategoryBytes& live : live_bytes_by_category(step))
    peak = std::max(peak, live[static_cast<int>(MemoryCategory::Activations)] +
                              live[static_cast<int>(MemoryCategory::Stash)]);
  return peak;
}

TEST(MemDfa, ActivationPeakIsFlatInDepthWhileExactAndDfaGrowLinearly) {
  const int64_t width = 64, batch = 16;
  const size_t layer_buffer = width * batch * sizeof(float);
  std::vector<size_t> exact, dfa, mem;
  for (int depth : {4, 8, 16, 32}) {
    for (const char* mode : {"exact", "dfa", "mem_dfa"}) {
      auto g = small_mlp(1, depth, width);
      Executor ex(*g, modes_from(*g, {{"default", {{"mode", mode}}}}), "static", 5);
      if (std::string(mode) == "mem_dfa") {
        MemDfaRunner runner(ex, "static", 5);
        mem.push_back(activation_peak(runner.plan(batch).step));
      } else {
        (std::string(mode) == "exact" ? exact : dfa).push_back(activation_peak(ex.training_plan(batch).step));
      }
    }
  }
  for (size_t k = 1; k < mem.size(); ++k) EXPECT_LE(mem[k] - std::min(mem[k], mem[0]), layer_buffer) << k;
  for (size_t k = 1; k < mem.size(); ++k) EXPECT_LE(mem[0] - std::min(mem[k], mem[0]), layer_buffer) << k;
  for (const auto* grow : {&exact, &dfa}) {
    // Each extra hidden block keeps at least one [batch, width] buffer until its backward.
    for (size_t k = 1; k < grow->size(); ++k) {
      const size_t added_blocks = (size_t{4} << k) - (size_t{4} << (k - 1));
      EXPECT_GE((*grow)[k] - (*grow)[k - 1], added_blocks * layer_buffer) << k;
    }
    EXPECT_GT((*grow)[3], 8 * mem[3]);
  }
}

TEST(MemDfa, RefusesANetworkThatIsNotAChain) {
  ModelBuilder mb(1, Shape{8});
  int x = mb.linear("0", mb.input(), 8);
  int y = mb.activation("1", x, kRelu);
  int z = mb.add("2", x, y);
  mb.linear("3", z, 5);
  auto g = mb.finish();
  try {
    Executor ex(*g, modes_from(*g, {{"default", {{"mode", "mem_dfa"}}}}), "static", 5);
    FAIL() << "mem_dfa on a residual network was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sequential"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
