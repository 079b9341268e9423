// compare_gradients: the numbers behind `frugal gradcheck`. It must report perfect agreement for exact
// against exact, see the randomness (and the absence of bias) of an unbiased estimator, and see the
// bias of a biased one.
#include <gtest/gtest.h>

#include "tests/training/config_sections.h"
#include "training/gradcheck.h"
#include "training/models/model_builder.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

constexpr int64_t kBatch = 8;

std::unique_ptr<Graph> small_cnn() {
  ModelBuilder b(4, Shape{2, 8, 6});
  int x = b.conv("conv", b.input(), 4, 3, 1, 1, true);
  x = b.batchnorm("bn", x);
  x = b.activation("relu", x, default_activation_spec(ActivationKind::ReLU));
  x = b.flatten("flat", x);
  b.linear("fc", x, 3);
  return b.finish();
}

struct Net {
  std::unique_ptr<Graph> graph = small_cnn();
  std::unique_ptr<Executor> executor;
  explicit Net(const nlohmann::json& backward) {
    executor = std::make_unique<Executor>(*graph, testing_support::assign_modes(*graph, backward, 4), "naive", 3);
  }
};

std::vector<Batch> batches(int count) {
  std::vector<Batch> out;
  for (int k = 0; k < count; ++k) {
    Batch b{Tensor::empty({kBatch, 2, 8, 6}), Tensor::empty({kBatch}, DType::I32), kBatch};
    rng_normal(rng_key(k, RngStream::Test, 0), b.images.f32(), b.images.numel());
    for (int64_t i = 0; i < kBatch; ++i) b.labels.data<int32_t>()[i] = static_cast<int32_t>((i + k) % 3);
    out.push_back(b);
  }
  return out;
}

const nlohmann::json kExact = {{"default", {{"mode", "exact"}}}};

const GradientAgreement& row(const GradcheckResult& r, const std::string& parameter) {
  for (const auto& a : r.parameters)
    if (a.parameter == parameter) return a;
  throw std::runtime_error("no row for " + parameter);
}

TEST(Gradcheck, ExactAgainstExactAgreesPerfectly) {
  Net ref(kExact), cand(kExact);
  const GradcheckResult r = compare_gradients(*ref.executor, *cand.executor, batches(2), 3, 0);
  EXPECT_EQ(r.parameters.size(), 6u);  // conv, bn and fc weight and bias
  for (const auto& a : r.parameters) {
    EXPECT_NEAR(a.cosine, 1.0, 1e-12) << a.parameter;
    EXPECT_EQ(a.rel_l2, 0.0) << a.parameter;
    EXPECT_EQ(a.bias, 0.0) << a.parameter;
    EXPECT_FALSE(a.stochastic) << a.parameter;
  }
  EXPECT_EQ(r.total.numel, 4 * 2 * 9 + 4 + 4 + 4 + 3 * 4 * 8 * 6 + 3);
}

// An unbiased estimator: its draws differ, and the bias of their mean is about spread / sqrt(draws),
// far below the error of one draw. Measured on conv.weight: rel_l2 2.4, spread 2.4, bias 0.48 = 1.0
// noise units (spread / sqrt(draws)).
TEST(Gradcheck, UnbiasedEstimatorShowsSpreadButLittleBias) {
  Net ref(kExact);
  Net cand({{"default", {{"mode", "exact"}}},
            {"layers", {{{"match", "conv"}, {"mode", "randomized_trace"}, {"probes", 8}}}}});
  const GradcheckResult r = compare_gradients(*ref.executor, *cand.executor, batches(2), 24, 0);
  const GradientAgreement& w = row(r, "conv.weight");
  EXPECT_TRUE(w.stochastic);
  EXPECT_EQ(w.mode, "randomized_trace(probes=8, independent, rademacher)");
  EXPECT_GT(w.rel_l2, 0.05);
  EXPECT_LT(w.bias, 3.0 * w.spread / std::sqrt(24.0));
  EXPECT_LT(w.bias, 0.5 * w.rel_l2);
  // dY stays exact: the layer after it is untouched. (conv.bias is left out: BN after the conv makes its
  // exact gradient rounding noise around 0, so any change in summation order shows as a large ratio.)
  EXPECT_EQ(row(r, "fc.weight").rel_l2, 0.0);
  EXPECT_EQ(row(r, "fc.bias").rel_l2, 0.0);
  EXPECT_TRUE(r.total.stochastic);
}

// Random K of B rows without memory and without reweighting applies K/B of the gradient on average:
// a bias of 1 - K/B = 0.5 that more draws do not remove. Measured: bias 0.52, 5.0 noise units.
TEST(Gradcheck, BiasedEstimatorShowsItsBias) {
  Net ref(kExact);
  Net cand({{"default", {{"mode", "exact"}}},
            {"layers", {{{"match", "fc"}, {"mode", "outer_product"}, {"k", 4}, {"policy", "random"}, {"memory", false}}}}});
  const GradcheckResult r = compare_gradients(*ref.executor, *cand.executor, batches(2), 32, 0);
  const GradientAgreement& w = row(r, "fc.weight");
  EXPECT_TRUE(w.stochastic);
  EXPECT_NEAR(w.bias, 0.5, 0.12);
  EXPECT_GT(w.bias, 3.0 * w.spread / std::sqrt(32.0));
}

TEST(Gradcheck, LeavesParametersAndModeStateAsItFoundThem) {
  Net ref(kExact);
  Net cand({{"default", {{"mode", "exact"}}}, {"layers", {{{"match", "fc"}, {"mode", "outer_product"}, {"k", 2}}}}});
  auto bytes_of = [](const Tensor& t) {
    const char* raw = static_cast<const char*>(t.raw());
    return std::vector<char>(raw, raw + t.nbytes());
  };
  std::vector<std::vector<char>> before;
  for (Parameter* p : cand.graph->parameters()) before.push_back(bytes_of(p->value));
  compare_gradients(*ref.executor, *cand.executor, batches(1), 2, 0);
  size_t i = 0;
  for (Parameter* p : cand.graph->parameters())  // BN running statistics and step count included
    EXPECT_EQ(before[i++], bytes_of(p->value)) << p->name;
  for (Parameter* p : cand.executor->mode(cand.graph->find("fc")).state())
    for (int64_t k = 0; k < p->value.numel(); ++k) ASSERT_EQ(p->value.f32()[k], 0.0f) << p->name;
}

}  // namespace
}  // namespace frugal
