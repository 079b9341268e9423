// The outer_product mode (Mem-AOP-GD) on a linear and a conv layer, driven directly with chosen inputs
// and output gradients: which rows it applies, that K = B is exact backprop, and the error-feedback
// bookkeeping (every row is either applied or waiting in the memory).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "ops/conv.h"
#include "ops/linear.h"
#include "tests/ops/conv_test_util.h"
#include "training/modes/mode_factories.h"
#include "training/modes/outer_product.h"

namespace frugal {
namespace {

constexpr int64_t kB = 8, kIn = 6, kOut = 4;

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  rng_normal(rng_key(seed, RngStream::Test, 0), t.f32(), t.numel());
  return t;
}

// A layer and its mode, with the workspace a training plan would give it.
struct Harness {
  std::unique_ptr<WeightedLayer> layer;
  std::unique_ptr<BackwardMode> mode;
  std::vector<float> workspace;

  Harness(std::unique_ptr<WeightedLayer> l, const Shape& input, const nlohmann::json& entry) : layer(std::move(l)) {
    layer->setup({input});
    mode = make_outer_product_mode(entry, *layer, 2, 9);
    workspace.resize(mode->backward_workspace_bytes(*layer) / sizeof(float) + 1);
  }
  OuterProductMode& op() { return dynamic_cast<OuterProductMode&>(*mode); }
  // One backward at `step`; returns dW.
  std::vector<float> step(const Tensor& x, const Tensor& dy, int64_t step) {
    BackwardArgs args;
    args.inputs = {&x};
    args.grad_output = &dy;
    args.grad_inputs = {nullptr};
    args.workspace = workspace.data();
    mode->begin_step(step);
    mode->backward(*layer, args, {});
    const Tensor& g = layer->weight().grad;
    return {g.f32(), g.f32() + g.numel()};
  }
  std::vector<float> exact(const Tensor& x, const Tensor& dy) {
    layer->backward_weight(x, dy, workspace.data());
    const Tensor& g = layer->weight().grad;
    return {g.f32(), g.f32() + g.numel()};
  }
};

Harness linear_harness(const nlohmann::json& knobs) {
  nlohmann::json entry = {{"mode", "outer_product"}};
  entry.update(knobs);
  return Harness(std::make_unique<Linear>("fc", kIn, kOut, true, rng_key(1, RngStream::Init, 0)), Shape{kB, kIn},
                 entry);
}

// M[out, in] = sum_b g[b]^T a[b] in double, from row-major [B, out] and [B, in] buffers.
std::vector<double> outer_sum(const float* g, const float* a, int64_t rows) {
  std::vector<double> m(kOut * kIn, 0.0);
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t o = 0; o < kOut; ++o)
      for (int64_t i = 0; i < kIn; ++i) m[o * kIn + i] += double(g[b * kOut + o]) * a[b * kIn + i];
  return m;
}

TEST(OuterProductMode, AllRowsGiveExactlyTheExactGradient) {
  for (bool memory : {true, false}) {
    Harness h = linear_harness({{"k", kB}, {"memory", memory}});
    for (int64_t s = 0; s < 3; ++s) {
      const Tensor x = random_tensor({kB, kIn}, 10 + s), dy = random_tensor({kB, kOut}, 20 + s);
      const std::vector<float> applied = h.step(x, dy, s);
      EXPECT_EQ(applied, h.exact(x, dy)) << "memory " << memory << " step " << s;
    }
    for (Parameter* p : h.mode->state())
      for (int64_t i = 0; i < p->value.numel(); ++i) ASSERT_EQ(p->value.f32()[i], 0.0f) << p->name;
  }
}

TEST(OuterProductMode, WithoutMemoryAppliesExactlyTheChosenRows) {
  Harness h = linear_harness({{"k", 2}, {"memory", false}, {"policy", "random"}});
  EXPECT_TRUE(h.mode->state().empty());
  const Tensor x = random_tensor({kB, kIn}, 1), dy = random_tensor({kB, kOut}, 2);
  const std::vector<float> applied = h.step(x, dy, 0);
  const std::vector<int64_t>& rows = h.op().last_chosen_rows();
  ASSERT_EQ(rows.size(), 2u);
  std::vector<double> expected(kOut * kIn, 0.0);
  for (int64_t b : rows) {
    const auto one = outer_sum(dy.f32() + b * kOut, x.f32() + b * kIn, 1);
    for (size_t i = 0; i < one.size(); ++i) expected[i] += one[i];
  }
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(applied[i], expected[i], 1e-5);
}

// Error feedback: per step, sum_b G_b A_b^T (memory plus new rows) = applied dW + (1/rho) M_G^T M_X of
// the memory left behind. Summed over steps: the applied updates plus the memory's residual equal the
// exact gradients plus the cross terms between old memory rows and new rows (Mem-AOP-GD's factor memory).
TEST(OuterProductMode, ErrorFeedbackKeepsEveryRowNotApplied) {
  for (const char* policy : {"topk", "weighted", "random"})
    for (double decay : {1.0, 0.5}) {
      Harness h = linear_harness({{"k", 3}, {"policy", policy}, {"decay", decay}});
      std::vector<double> applied_total(kOut * kIn, 0.0), exact_total(kOut * kIn, 0.0), cross_total(kOut * kIn, 0.0);
      for (int64_t s = 0; s < 6; ++s) {
        const Tensor x = random_tensor({kB, kIn}, 30 + s), dy = random_tensor({kB, kOut}, 40 + s);
        const auto state = h.mode->state();
        ASSERT_EQ(state.size(), 2u);
        const Tensor mx = state[0]->value.clone(), mg = state[1]->value.clone();
        Tensor a = mx.clone(), g = mg.clone();  // A = M_X + X, G = M_G + dY
        for (int64_t i = 0; i < a.numel(); ++i) a.f32()[i] += x.f32()[i];
        for (int64_t i = 0; i < g.numel(); ++i) g.f32()[i] += dy.f32()[i];
        const std::vector<double> before = outer_sum(g.f32(), a.f32(), kB);

        const std::vector<float> applied = h.step(x, dy, s);
        const std::vector<double> left = outer_sum(state[1]->value.f32(), state[0]->value.f32(), kB);
        const auto exact = outer_sum(dy.f32(), x.f32(), kB), old = outer_sum(mg.f32(), mx.f32(), kB);
        for (size_t i = 0; i < before.size(); ++i) {
          EXPECT_NEAR(applied[i] + left[i] / decay, before[i], 1e-4 * (1 + std::abs(before[i])))
              << policy << " decay " << decay << " step " << s;
          applied_total[i] += applied[i];
          exact_total[i] += exact[i];
          cross_total[i] += before[i] - exact[i] - old[i];  // M_G X^T + dY M_X^T
        }
        if (decay == 1.0) {  // the telescoped invariant
          for (size_t i = 0; i < before.size(); ++i)
            EXPECT_NEAR(applied_total[i] + left[i], exact_total[i] + cross_total[i], 1e-3) << policy << " step " << s;
        }
      }
    }
}

TEST(OuterProductMode, TopKAppliesTheRowsWithTheLargestOuterProducts) {
  Harness h = linear_harness({{"k", 3}, {"memory", false}});
  Tensor x = random_tensor({kB, kIn}, 5), dy = random_tensor({kB, kOut}, 6);
  // Scale rows so that rows 6, 1 and 4 (in that order) have the largest |x_b| |dy_b|.
  const float scale[kB] = {1, 20, 1, 1, 10, 1, 40, 1};
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t i = 0; i < kIn; ++i) x.f32()[b * kIn + i] *= scale[b];
  h.step(x, dy, 0);
  EXPECT_EQ(h.op().last_chosen_rows(), (std::vector<int64_t>{1, 4, 6}));
}

TEST(OuterProductSelection, RandomPolicyChoosesEveryRowWithProbabilityKOverB) {
  const std::vector<double> scores = {5, 0, 1, 9, 2, 2, 7, 3};
  std::vector<int64_t> chosen, order;
  std::vector<int> counts(8, 0);
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    select_rows(SamplingPolicy::Random, scores, 3, rng_key(1, RngStream::Sampling, t), chosen, order);
    ASSERT_EQ(std::set<int64_t>(chosen.begin(), chosen.end()).size(), 3u);
    for (int64_t b : chosen) ++counts[b];
  }
  const double p = 3.0 / 8, sd = std::sqrt(trials * p * (1 - p));
  for (int b = 0; b < 8; ++b) EXPECT_NEAR(counts[b], trials * p, 4.5 * sd) << "row " << b;
}

TEST(OuterProductSelection, WeightedPolicyFollowsTheScoresAndTakesZerosOnlyWhenItMust) {
  std::vector<int64_t> chosen, order;
  // First draw: probability proportional to the score.
  const std::vector<double> scores = {1, 0, 3, 0, 4};
  std::vector<int> counts(5, 0);
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    select_rows(SamplingPolicy::Weighted, scores, 1, rng_key(2, RngStream::Sampling, t), chosen, order);
    ++counts[chosen[0]];
  }
  EXPECT_EQ(counts[1] + counts[3], 0);
  for (int b : {0, 2, 4}) {
    const double p = scores[b] / 8.0;
    EXPECT_NEAR(counts[b], trials * p, 4.5 * std::sqrt(trials * p * (1 - p))) << "row " << b;
  }
  // Three non-zero scores, four rows wanted: all three plus one zero-score row.
  select_rows(SamplingPolicy::Weighted, scores, 4, rng_key(2, RngStream::Sampling, 0), chosen, order);
  ASSERT_EQ(chosen.size(), 4u);
  for (int64_t b : {0, 2, 4}) EXPECT_TRUE(std::count(chosen.begin(), chosen.end(), b)) << b;
}

TEST(OuterProductMode, ConvAppliesTheWeightGradientOfTheChosenSamples) {
  Conv2dOptions o;
  o.in_channels = 3;
  o.out_channels = 4;
  o.stride = 2;
  o.padding = 1;
  Harness h(std::make_unique<Conv2d>("conv", o, rng_key(1, RngStream::Init, 0)), Shape{6, 3, 7, 5},
            {{"mode", "outer_product"}, {"k", 2}, {"memory", false}});
  const Conv2dGeometry g = dynamic_cast<Conv2d&>(*h.layer).geometry();
  const Tensor x = random_tensor({6, 3, 7, 5}, 7), dy = random_tensor(h.layer->output_shape(), 8);
  const std::vector<float> applied = h.step(x, dy, 0);
  const std::vector<int64_t> rows = h.op().last_chosen_rows();
  Conv2dGeometry one = g;
  one.batch = 1;
  std::vector<double> expected(test::conv_weight_size(g), 0.0);
  for (int64_t b : rows) {
    const int64_t xs = test::conv_input_size(one), ys = test::conv_output_size(one);
    const auto part = test::reference_conv_backward_weight(one, {x.f32() + b * xs, x.f32() + (b + 1) * xs},
                                                           {dy.f32() + b * ys, dy.f32() + (b + 1) * ys});
    for (size_t i = 0; i < part.size(); ++i) expected[i] += part[i];
  }
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(applied[i], expected[i], 1e-4);
  // And with every sample it is the layer's own exact weight gradient.
  Harness all(std::make_unique<Conv2d>("conv", o, rng_key(1, RngStream::Init, 0)), Shape{6, 3, 7, 5},
              {{"mode", "outer_product"}, {"k_fraction", 1.0}});
  EXPECT_EQ(all.step(x, dy, 0), all.exact(x, dy));
}

TEST(OuterProductMode, MemoryIsLayerStateSizedByTheTrainingBatch) {
  Harness h = linear_harness({{"k_fraction", 0.25}, {"policy", "weighted"}});
  const auto state = h.mode->state();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0]->name, "fc.aop_memory_x");
  EXPECT_EQ(state[1]->name, "fc.aop_memory_dy");
  EXPECT_EQ(state[0]->value.shape(), Shape({kB, kIn}));
  EXPECT_EQ(state[1]->value.shape(), Shape({kB, kOut}));
  EXPECT_FALSE(state[0]->trainable);
  EXPECT_EQ(h.mode->describe(), "outer_product(k=2 of 8, weighted, memory, decay=1; dW FLOPs 25% of exact)");
  // Before any training plan the batch is unknown: asking for the memory is an error, not a guess.
  Linear fc("fc2", kIn, kOut, true, rng_key(1, RngStream::Init, 0));
  auto early = make_outer_product_mode({{"mode", "outer_product"}}, fc, 0, 0);
  EXPECT_THROW(early->state(), InternalError);
}

TEST(OuterProductMode, BadKnobsAreConfigErrorsNamingKnobValueAndLayer) {
  Linear fc("fc", kIn, kOut, true, rng_key(1, RngStream::Init, 0));
  auto expect_error = [&](const nlohmann::json& knobs, const std::string& knob, const std::string& value) {
    nlohmann::json entry = {{"mode", "outer_product"}};
    entry.update(knobs);
    try {
      make_outer_product_mode(entry, fc, 0, 0);
      FAIL() << "accepted " << knobs.dump();
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      for (const std::string& part : {knob, value, std::string("'fc'")}) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  };
  expect_error({{"k", 0}}, "k", "0");
  expect_error({{"k", 4}, {"k_fraction", 0.5}}, "k_fraction", "0.5");
  expect_error({{"policy", "best"}}, "policy", "best");
  expect_error({{"memory", false}, {"decay", 0.5}}, "decay", "0.5");
  expect_error({{"probes", 8}}, "probes", "8");
}

}  // namespace
}  // namespace frugal
