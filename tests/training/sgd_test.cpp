#include "training/optim/sgd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "tests/training/optim_test_util.h"

namespace frugal {
namespace {

using namespace optim_test;

// torch.optim.SGD's rule for one parameter, in double.
struct ReferenceSgd {
  SgdOptions o;
  bool decay;
  std::vector<double> p, buf;
  int steps = 0;

  void step(const std::vector<float>& grad, double lr) {
    const double wd = decay ? o.weight_decay : 0.0;
    ++steps;
    if (buf.empty()) buf.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad[i] + wd * p[i];
      if (o.momentum != 0) {
        buf[i] = steps == 1 ? g : o.momentum * buf[i] + (1.0 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * buf[i] : buf[i];
      }
      p[i] -= lr * g;
    }
  }
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (std::abs(got[i] - want[i]) > 2e-6 * (1.0 + std::abs(want[i]))) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
      return;  // the first difference says enough
    }
}

TEST(Sgd, MomentumMatchesAHandComputedSequence) {
  // lr 0.1, momentum 0.9, gradient always 1: buf = 1, 1.9, 2.71; p = 1 - 0.1 * (1 + 1.9 + 2.71).
  Parameter w = make_param("w", {1.0f});
  auto sgd = make_sgd({&w}, SgdOptions{});
  w.grad.fill(1.0f);
  const float expected[] = {0.9f, 0.71f, 0.439f};
  for (float e : expected) {
    sgd->step(0.1f);
    EXPECT_NEAR(w.value.f32()[0], e, 1e-6f);
  }
  EXPECT_EQ(sgd->steps_taken(), 3);
}

TEST(Sgd, WithoutMomentumSubtractsLrTimesGradientAndKeepsNoBuffer) {
  Parameter w = make_param("w", {1.0f, -2.0f});
  auto sgd = make_sgd({&w}, SgdOptions{0.0f});
  w.grad.f32()[0] = 0.5f;
  w.grad.f32()[1] = -4.0f;
  sgd->step(0.25f);
  EXPECT_EQ(values_of(w.value), (std::vector<float>{0.875f, -1.0f}));
  EXPECT_EQ(sgd->state_bytes(), 0u);
  ASSERT_EQ(sgd->state().size(), 1u);  // only the step count
  EXPECT_EQ(sgd->state()[0].first, "step");
}

struct SgdCase {
  const char* name;
  SgdOptions options;
};
void PrintTo(const SgdCase& c, std::ostream* os) { *os << c.name; }

class SgdMatchesReference : public ::testing::TestWithParam<SgdCase> {};

TEST_P(SgdMatchesReference, OverSixStepsWithChangingGradientsAndLr) {
  const SgdOptions o = GetParam().options;
  Parameter decayed = make_param("fc.weight", {0.5f, -1.25f, 2.0f, 0.0f, -0.75f});
  Parameter exempt = make_param("fc.bias", {0.1f, -0.2f, 0.3f});
  exempt.weight_decay = false;
  ReferenceSgd ref_decayed{o, true, {0.5, -1.25, 2.0, 0.0, -0.75}, {}};
  ReferenceSgd ref_exempt{o, false, {0.1f, -0.2f, 0.3f}, {}};
  auto sgd = make_sgd({&decayed, &exempt}, o);
  for (int step = 0; step < 6; ++step) {
    const float lr = 0.1f / static_cast<float>(1 + step);
    set_gradients({&decayed, &exempt}, step);
    ref_decayed.step(values_of(decayed.grad), lr);
    ref_exempt.step(values_of(exempt.grad), lr);
    sgd->step(lr);
    expect_close(values_of(decayed.value), ref_decayed.p, "decayed, step " + std::to_string(step));
    expect_close(values_of(exempt.value), ref_exempt.p, "exempt, step " + std::to_string(step));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Options, SgdMatchesReference,
    ::testing::Values(SgdCase{"Momentum", {0.9f, 0.0f, 0.0f, false}},
                      SgdCase{"Dampening", {0.9f, 0.3f, 0.0f, false}},
                      SgdCase{"Nesterov", {0.9f, 0.0f, 0.0f, true}},
                      SgdCase{"WeightDecay", {0.9f, 0.0f, 0.05f, false}},
                      SgdCase{"NesterovWeightDecay", {0.8f, 0.0f, 0.05f, true}},
                      SgdCase{"DampeningWeightDecay", {0.5f, 0.5f, 0.1f, false}},
                      SgdCase{"PlainWeightDecay", {0.0f, 0.0f, 0.1f, false}}),
    [](const ::testing::TestParamInfo<SgdCase>& info) { return info.param.name; });

TEST(Sgd, LargeParametersMatchTheReferenceInEveryElement) {
  // Above the OpenMP threshold: the parallel loop must cover every element exactly once.
  std::vector<float> init(100003);
  for (size_t i = 0; i < init.size(); ++i) init[i] = static_cast<float>(std::cos(0.01 * i));
  Parameter w = make_param("w", init);
  SgdOptions o{0.9f, 0.0f, 0.01f, true};
  ReferenceSgd ref{o, true, std::vector<double>(init.begin(), init.end()), {}};
  auto sgd = make_sgd({&w}, o);
  for (int step = 0; step < 3; ++step) {
    set_gradients({&w}, step);
    ref.step(values_of(w.grad), 0.05);
    sgd->step(0.05f);
  }
  expect_close(values_of(w.value), ref.p, "large");
}

TEST(Sgd, NonTrainableParametersAreUntouchedAndHaveNoState) {
  Parameter w = make_param("w", {1.0f});
  Parameter running_mean = make_param("bn.running_mean", {3.0f});
  running_mean.trainable = false;
  running_mean.grad = Tensor();  // buffers have no gradient
  auto sgd = make_sgd({&w, &running_mean}, SgdOptions{});
  w.grad.fill(1.0f);
  sgd->step(0.1f);
  EXPECT_EQ(running_mean.value.f32()[0], 3.0f);
  EXPECT_EQ(sgd->state_bytes(), 4u);
  for (const auto& [name, t] : sgd->state()) EXPECT_EQ(name.find("running_mean"), std::string::npos) << name;
}

TEST(Sgd, StateAllocatedOnceAtConstructionTaggedAsOptimizerState) {
  RecordingAllocator alloc;
  Parameter a = make_param("layer1.weight", {1, 2, 3});
  Parameter b = make_param("layer1.bias", {4});
  auto sgd = make_sgd({&a, &b}, SgdOptions{}, &alloc);
  ASSERT_EQ(alloc.allocations.size(), 2u);
  using Tag = std::pair<MemoryCategory, std::string>;
  EXPECT_EQ(alloc.allocations[0], Tag(MemoryCategory::OptimizerState, "layer1.weight"));
  EXPECT_EQ(alloc.allocations[1], Tag(MemoryCategory::OptimizerState, "layer1.bias"));
  EXPECT_EQ(sgd->state_bytes(), 16u);

  const uint64_t default_allocations = default_cpu_allocator().allocation_count();
  for (int step = 0; step < 3; ++step) {
    set_gradients({&a, &b}, step);
    sgd->step(0.1f);
  }
  EXPECT_EQ(alloc.allocations.size(), 2u);
  EXPECT_EQ(default_cpu_allocator().allocation_count(), default_allocations);
}

TEST(Sgd, StateSavedAndLoadedIntoANewOptimizerContinuesBitIdentically) {
  const std::vector<float> init = {0.3f, -0.7f, 1.1f, 2.5f};
  const SgdOptions o{0.9f, 0.1f, 0.01f, false};
  Parameter original = make_param("w", init);
  auto first = make_sgd({&original}, o);
  for (int step = 0; step < 3; ++step) {
    set_gradients({&original}, step);
    first->step(0.05f);
  }
  // Restart from a checkpoint file: parameters and optimizer state.
  const std::string file = ::testing::TempDir() + "sgd_state.safetensors";
  save_safetensors(file, first->state());
  Parameter resumed = make_param("w", values_of(original.value));
  auto second = make_sgd({&resumed}, o);
  second->load_state(load_safetensors(file).tensors);
  std::remove(file.c_str());
  EXPECT_EQ(second->steps_taken(), 3);

  for (int step = 3; step < 6; ++step) {
    set_gradients({&original, &resumed}, step);
    first->step(0.05f);
    second->step(0.05f);
    EXPECT_EQ(values_of(resumed.value), values_of(original.value)) << "step " << step;
  }
}

TEST(Sgd, LoadStateNamesMissingUnexpectedAndMismatchedEntriesAndChangesNothing) {
  Parameter a = make_param("a", {1, 2});
  Parameter b = make_param("b", {3});
  auto sgd = make_sgd({&a, &b}, SgdOptions{});
  NamedTensors bad = {{"a.momentum_buffer", Tensor::zeros({3})},  // wrong shape
                      {"c.momentum_buffer", Tensor::zeros({1})},  // unknown parameter
                      {"step", Tensor::zeros(Shape{}, DType::I64)}};
  *bad[2].second.data<int64_t>() = 7;
  try {
    sgd->load_state(bad);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'a.momentum_buffer' expected F32 [2], found F32 [3]"), std::string::npos)
        << message;
    EXPECT_NE(message.find("missing 'b.momentum_buffer'"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected 'c.momentum_buffer'"), std::string::npos) << message;
  }
  EXPECT_EQ(sgd->steps_taken(), 0);
}

TEST(Sgd, GradientOfTheWrongShapeIsAShapeErrorAndNoParameterMoves) {
  Parameter a = make_param("a", {1.0f});
  Parameter b = make_param("b", {2.0f, 3.0f});
  b.grad = Tensor::zeros({3});
  a.grad.fill(1.0f);
  auto sgd = make_sgd({&a, &b}, SgdOptions{});
  try {
    sgd->step(0.1f);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.value.f32()[0], 1.0f);
  EXPECT_EQ(sgd->steps_taken(), 0);
}

TEST(Sgd, NesterovWithoutMomentumIsAConfigErrorNamingTheOption) {
  Parameter w = make_param("w", {1.0f});
  try {
    make_sgd({&w}, SgdOptions{0.0f, 0.0f, 0.0f, true});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.nesterov"), std::string::npos) << e.what();
  }
}

TEST(Sgd, NegativeWeightDecayIsAConfigErrorNamingTheOption) {
  Parameter w = make_param("w", {1.0f});
  try {
    make_sgd({&w}, SgdOptions{0.9f, 0.0f, -0.1f, false});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.weight_decay"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
