#include "training/optim/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "training/optim/sgd.h"
#include "tests/training/optim_test_util.h"

namespace frugal {
namespace {

using namespace optim_test;

// torch.optim.AdamW's rule for one parameter, in double.
struct ReferenceAdamW {
  AdamWOptions o;
  bool decay;
  std::vector<double> p, m, v;
  int steps = 0;

  void step(const std::vector<float>& grad, double lr) {
    const double wd = decay ? o.weight_decay : 0.0;
    const double b1 = o.beta1, b2 = o.beta2;
    ++steps;
    m.resize(p.size());
    v.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i];
      p[i] *= 1.0 - lr * wd;
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      const double m_hat = m[i] / (1.0 - std::pow(b1, steps));
      const double v_hat = v[i] / (1.0 - std::pow(b2, steps));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + o.eps);
    }
  }
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (std::abs(got[i] - want[i]) > 4e-6 * (1.0 + std::abs(want[i]))) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
      return;  // the first difference says enough
    }
}

TEST(AdamW, MatchesAHandComputedSequence) {
  // Constant gradient 2: the bias-corrected moments are exactly 2 and 4, so each step moves p by
  // lr * 2 / (2 + eps) after decaying it by 1 - lr * wd: 1 -> 0.999 - 0.1 -> 0.899 * 0.999 - 0.1.
  Parameter w = make_param("w", {1.0f});
  auto adamw = make_adamw({&w}, AdamWOptions{});
  w.grad.fill(2.0f);
  adamw->step(0.1f);
  EXPECT_NEAR(w.value.f32()[0], 0.899f, 1e-6f);
  adamw->step(0.1f);
  EXPECT_NEAR(w.value.f32()[0], 0.798101f, 1e-6f);
}

struct AdamWCase {
  const char* name;
  AdamWOptions options;
};
void PrintTo(const AdamWCase& c, std::ostream* os) { *os << c.name; }

class AdamWMatchesReference : public ::testing::TestWithParam<AdamWCase> {};

TEST_P(AdamWMatchesReference, OverSixStepsWithChangingGradientsAndLr) {
  const AdamWOptions o = GetParam().options;
  Parameter decayed = make_param("conv.weight", {0.5f, -1.25f, 2.0f, 0.0f, -0.75f});
  Parameter exempt = make_param("bn.bias", {0.1f, -0.2f, 0.3f});
  exempt.weight_decay = false;
  ReferenceAdamW ref_decayed{o, true, {0.5, -1.25, 2.0, 0.0, -0.75}, {}, {}};
  ReferenceAdamW ref_exempt{o, false, {0.1f, -0.2f, 0.3f}, {}, {}};
  auto adamw = make_adamw({&decayed, &exempt}, o);
  for (int step = 0; step < 6; ++step) {
    const float lr = 0.01f / static_cast<float>(1 + step);
    set_gradients({&decayed, &exempt}, step);
    ref_decayed.step(values_of(decayed.grad), lr);
    ref_exempt.step(values_of(exempt.grad), lr);
    adamw->step(lr);
    expect_close(values_of(decayed.value), ref_decayed.p, "decayed, step " + std::to_string(step));
    expect_close(values_of(exempt.value), ref_exempt.p, "exempt, step " + std::to_string(step));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Options, AdamWMatchesReference,
    ::testing::Values(AdamWCase{"Defaults", {}},
                      AdamWCase{"StrongWeightDecay", {0.9f, 0.999f, 1e-8f, 0.5f}},
                      AdamWCase{"NoWeightDecay", {0.9f, 0.999f, 1e-8f, 0.0f}},
                      AdamWCase{"ShortMemoryLargeEps", {0.5f, 0.9f, 1e-2f, 0.1f}}),
    [](const ::testing::TestParamInfo<AdamWCase>& info) { return info.param.name; });

TEST(AdamW, LargeParametersMatchTheReferenceInEveryElement) {
  std::vector<float> init(70001);
  for (size_t i = 0; i < init.size(); ++i) init[i] = static_cast<float>(std::cos(0.01 * i));
  Parameter w = make_param("w", init);
  ReferenceAdamW ref{AdamWOptions{}, true, std::vector<double>(init.begin(), init.end()), {}, {}};
  auto adamw = make_adamw({&w}, AdamWOptions{});
  for (int step = 0; step < 3; ++step) {
    set_gradients({&w}, step);
    ref.step(values_of(w.grad), 1e-3);
    adamw->step(1e-3f);
  }
  expect_close(values_of(w.value), ref.p, "large");
}

TEST(AdamW, NonTrainableParametersAreUntouchedAndHaveNoState) {
  Parameter w = make_param("w", {1.0f, 2.0f});
  Parameter running_var = make_param("bn.running_var", {3.0f});
  running_var.trainable = false;
  running_var.grad = Tensor();
  auto adamw = make_adamw({&w, &running_var}, AdamWOptions{});
  w.grad.fill(1.0f);
  adamw->step(0.1f);
  EXPECT_EQ(running_var.value.f32()[0], 3.0f);
  EXPECT_EQ(adamw->state_bytes(), 2u * 2u * sizeof(float));  // exp_avg and exp_avg_sq of w only
}

TEST(AdamW, StateIsTwoBuffersPerParameterAllocatedOnceAsOptimizerState) {
  RecordingAllocator alloc;
  Parameter w = make_param("fc.weight", {1, 2, 3});
  auto adamw = make_adamw({&w}, AdamWOptions{}, &alloc);
  const auto expected = std::make_pair(MemoryCategory::OptimizerState, std::string("fc.weight"));
  ASSERT_EQ(alloc.allocations.size(), 2u);
  EXPECT_EQ(alloc.allocations[0], expected);
  EXPECT_EQ(alloc.allocations[1], expected);

  std::vector<std::string> names;
  for (const auto& entry : adamw->state()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.weight.exp_avg", "fc.weight.exp_avg_sq", "step"}));

  const uint64_t default_allocations = default_cpu_allocator().allocation_count();
  set_gradients({&w}, 0);
  adamw->step(0.1f);
  EXPECT_EQ(alloc.allocations.size(), 2u);
  EXPECT_EQ(default_cpu_allocator().allocation_count(), default_allocations);
}

TEST(AdamW, StateSavedAndLoadedIntoANewOptimizerContinuesBitIdentically) {
  const AdamWOptions o{0.9f, 0.99f, 1e-8f, 0.05f};
  Parameter original = make_param("w", {0.3f, -0.7f, 1.1f, 2.5f});
  auto first = make_adamw({&original}, o);
  for (int step = 0; step < 4; ++step) {
    set_gradients({&original}, step);
    first->step(0.01f);
  }
  const std::string file = ::testing::TempDir() + "adamw_state.safetensors";
  save_safetensors(file, first->state());
  Parameter resumed = make_param("w", values_of(original.value));
  auto second = make_adamw({&resumed}, o);
  second->load_state(load_safetensors(file).tensors);
  std::remove(file.c_str());
  EXPECT_EQ(second->steps_taken(), 4);  // the bias correction continues from step 5

  for (int step = 4; step < 8; ++step) {
    set_gradients({&original, &resumed}, step);
    first->step(0.01f);
    second->step(0.01f);
    EXPECT_EQ(values_of(resumed.value), values_of(original.value)) << "step " << step;
  }
}

TEST(AdamW, LoadingSgdStateIsADataErrorNamingTheMissingBuffers) {
  Parameter w = make_param("w", {1.0f});
  const NamedTensors sgd_state = make_sgd({&w}, SgdOptions{})->state();
  auto adamw = make_adamw({&w}, AdamWOptions{});
  try {
    adamw->load_state(sgd_state);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("missing 'w.exp_avg'"), std::string::npos) << message;
    EXPECT_NE(message.find("missing 'w.exp_avg_sq'"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected 'w.momentum_buffer'"), std::string::npos) << message;
  }
}

TEST(AdamW, BetaOfOneIsAConfigErrorNamingTheOption) {
  Parameter w = make_param("w", {1.0f});
  try {
    make_adamw({&w}, AdamWOptions{0.9f, 1.0f, 1e-8f, 0.0f});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.betas[1]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
