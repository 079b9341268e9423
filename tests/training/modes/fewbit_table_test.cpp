// The fewbit derivative tables: the DP against brute force on small grids, error falling with bits,
// the GELU tables against the spec's own DP run (docs/algorithms.md §3), the reported error
// against an independent integral, the DP against the shipped (Lloyd) 4-bit table, ReLU/LeakyReLU
// tables, and the cache.
#include "training/modes/fewbit_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"

namespace frugal {
namespace {

const ActivationSpec kGelu = default_activation_spec(ActivationKind::GELU);

// Every split of `grid` into `pieces` non-empty runs; the cheapest (first found on ties).
PiecewiseConstantFit brute_force(const WeightedGrid& grid, int pieces) {
  PiecewiseConstantFit best;
  best.cost = INFINITY;
  std::vector<int> cuts(pieces + 1);
  cuts[0] = 0;
  cuts[pieces] = grid.cells;
  // Inner cuts enumerated as increasing sequences in [1, cells - 1].
  std::function<void(int)> place = [&](int m) {
    if (m == pieces) {
      double cost = 0;
      for (int k = 0; k < pieces; ++k) cost += grid.piece_cost(cuts[k], cuts[k + 1]);
      if (cost < best.cost) best = {cuts, cost};
      return;
    }
    for (int c = cuts[m - 1] + 1; c <= grid.cells - (pieces - m); ++c) {
      cuts[m] = c;
      place(m + 1);
    }
  };
  place(1);
  return best;
}

// A random instance: f' constant with a random value on each cell, a random positive weight.
WeightedGrid random_grid(int cells, uint64_t step) {
  std::vector<float> values(cells), weights(cells);
  rng_normal(rng_key(5, RngStream::Test, step), values.data(), values.size());
  rng_uniform(rng_key(6, RngStream::Test, step), weights.data(), weights.size(), 0.1f, 1.0f);
  auto cell_of = [cells](double x) { return std::min(cells - 1, static_cast<int>(std::floor(x))); };
  return integrate_on_grid([&](double x) { return values[cell_of(x)]; }, [&](double x) { return weights[cell_of(x)]; },
                           0.0, cells, cells);
}

// ∫(f' - q)^2 w / ∫w by the midpoint rule on 400k points, q from the table (code = #{borders < x}).
double independent_error(const ActivationSpec& spec, const std::vector<float>& borders, const std::vector<float>& levels,
                         FewbitWeighting weighting) {
  const bool normal = weighting == FewbitWeighting::Normal;
  const double lo = normal ? -8 : -10, hi = -lo;
  const int n = 400000;
  const double h = (hi - lo) / n;
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) {
    const double x = lo + (i + 0.5) * h;
    const double w = normal ? std::exp(-0.5 * x * x) : 1.0;
    const size_t code = std::lower_bound(borders.begin(), borders.end(), static_cast<float>(x)) - borders.begin();
    const double e = activation_derivative(spec, x) - levels[code];
    num += e * e * w;
    den += w;
  }
  return num / den;
}

TEST(FewbitTable, DpEqualsBruteForceOnSmallRandomGrids) {
  int checked = 0;
  for (int cells : {6, 9, 12})
    for (int pieces : {1, 2, 3, 4, 5})
      for (uint64_t trial = 0; trial < 4; ++trial) {
        const WeightedGrid g = random_grid(cells, 100 * cells + 10 * pieces + trial);
        const PiecewiseConstantFit dp = optimal_piecewise_constant(g, pieces);
        const PiecewiseConstantFit bf = brute_force(g, pieces);
        EXPECT_NEAR(dp.cost, bf.cost, 1e-12 * std::max(1.0, bf.cost)) << cells << " cells, " << pieces << " pieces";
        EXPECT_EQ(dp.cuts, bf.cuts) << cells << " cells, " << pieces << " pieces, trial " << trial;
        ++checked;
      }
  EXPECT_EQ(checked, 60);
}

TEST(FewbitTable, DpEqualsBruteForceForGeluOnACoarseGrid) {
  const WeightedGrid g = integrate_on_grid([](double x) { return activation_derivative(kGelu, x); },
                                           [](double x) { return std::exp(-0.5 * x * x); }, -4.0, 4.0, 16);
  for (int pieces : {2, 4, 8}) {
    const PiecewiseConstantFit dp = optimal_piecewise_constant(g, pieces), bf = brute_force(g, pieces);
    EXPECT_NEAR(dp.cost, bf.cost, 1e-12) << pieces << " pieces";
  }
}

TEST(FewbitTable, ErrorAtLeastHalvesWithEachExtraBit) {
  // Measured ratios error(b+1)/error(b) with normal weighting: 0.20 .. 0.31 for every kind below.
  for (ActivationKind kind : {ActivationKind::GELU, ActivationKind::SiLU, ActivationKind::ELU, ActivationKind::Softplus,
                              ActivationKind::Tanh, ActivationKind::Sigmoid}) {
    const ActivationSpec spec = default_activation_spec(kind);
    for (int bits = 1; bits < 4; ++bits) {
      const double coarse = fewbit_table(spec, bits, FewbitWeighting::Normal).error;
      const double fine = fewbit_table(spec, bits + 1, FewbitWeighting::Normal).error;
      EXPECT_GT(coarse, 0) << activation_name(kind);
      EXPECT_LT(fine, 0.5 * coarse) << activation_name(kind) << " from " << bits << " to " << bits + 1 << " bits";
    }
  }
}

TEST(FewbitTable, GeluWithNormalWeightingMatchesTheSpecsOwnDpRun) {
  // Spec: 1 bit b={0}, l={0.091, 0.909}; 2 bits b={±0.50, 0}; 3 bits b={±0.78, ±0.47, ±0.22, 0}. The
  // spec rounds to 2 decimals and our grid spacing is 1/128, so borders may differ by up to 0.009.
  const FewbitTable& t1 = fewbit_table(kGelu, 1, FewbitWeighting::Normal);
  ASSERT_EQ(t1.borders.size(), 1u);
  EXPECT_EQ(t1.borders[0], 0.0f);
  EXPECT_NEAR(t1.levels[0], 0.091, 0.001);
  EXPECT_NEAR(t1.levels[1], 0.909, 0.001);
  const std::vector<std::vector<double>> spec_borders = {{-0.50, 0, 0.50}, {-0.78, -0.47, -0.22, 0, 0.22, 0.47, 0.78}};
  for (int bits : {2, 3}) {
    const FewbitTable& t = fewbit_table(kGelu, bits, FewbitWeighting::Normal);
    const auto& want = spec_borders[bits - 2];
    ASSERT_EQ(t.borders.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(t.borders[j], want[j], 0.009) << bits << " bits, border " << j;
    // GELU'(-x) = 1 - GELU'(x): the optimal table is antisymmetric about (0, 1/2).
    for (size_t j = 0; j < t.levels.size(); ++j)
      EXPECT_NEAR(t.levels[j] + t.levels[t.levels.size() - 1 - j], 1.0, 1e-5) << bits << " bits, level " << j;
  }
}

TEST(FewbitTable, GeluWithUniformWeightingMatchesTheSpecsOwnDpRunAndBeatsTheShippedTable) {
  // Spec (uniform w on [-10, 10], error as ∫(f'-q)^2 dx = 20 x our normalised error):
  // 3 bits b={±2.400, ±0.713, ±0.325, 0}, error 1.190e-2; 4 bits error 3.14e-3; the shipped Lloyd
  // 4-bit table scores 4.11e-3.
  const FewbitTable& t3 = fewbit_table(kGelu, 3, FewbitWeighting::Uniform);
  const std::vector<double> want = {-2.400, -0.713, -0.325, 0, 0.325, 0.713, 2.400};
  ASSERT_EQ(t3.borders.size(), want.size());
  for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(t3.borders[j], want[j], 0.007) << "border " << j;
  EXPECT_NEAR(20 * t3.error, 1.190e-2, 0.005e-2);
  const FewbitTable& t4 = fewbit_table(kGelu, 4, FewbitWeighting::Uniform);
  EXPECT_NEAR(20 * t4.error, 3.14e-3, 0.02e-3);

  const std::vector<float> shipped_borders = {-2.993f, -2.494f, -2.165f, -1.880f, -0.931f, -0.664f, -0.455f, -0.271f,
                                              -0.099f, 0.069f,  0.240f,  0.421f,  0.624f,  0.876f,  2.359f};
  const std::vector<float> shipped_levels = {-0.0000f, -0.0233f, -0.0521f, -0.0828f, -0.1130f, -0.0166f,
                                             0.0983f,  0.2233f,  0.3543f,  0.4881f,  0.6221f,  0.7537f,
                                             0.8801f,  0.9972f,  1.0980f,  1.0002f};
  const double shipped = independent_error(kGelu, shipped_borders, shipped_levels, FewbitWeighting::Uniform);
  EXPECT_NEAR(20 * shipped, 4.11e-3, 0.02e-3);
  EXPECT_LT(t4.error, 0.8 * shipped);
}

TEST(FewbitTable, ReportedErrorEqualsAnIndependentIntegralOfTheTable) {
  for (ActivationKind kind : {ActivationKind::GELU, ActivationKind::Tanh, ActivationKind::ELU})
    for (FewbitWeighting w : {FewbitWeighting::Normal, FewbitWeighting::Uniform}) {
      const ActivationSpec spec = default_activation_spec(kind);
      const FewbitTable& t = fewbit_table(spec, 3, w);
      EXPECT_NEAR(independent_error(spec, t.borders, t.levels, w), t.error, 1e-3 * t.error)
          << activation_name(kind) << " " << fewbit_weighting_name(w);
    }
}

TEST(FewbitTable, ReluAndLeakyReluGetExactOneBitTablesWhateverBitsAreAsked) {
  const FewbitTable relu = build_fewbit_table(default_activation_spec(ActivationKind::ReLU), 3, FewbitWeighting::Normal);
  EXPECT_EQ(relu.bits, 1);
  EXPECT_EQ(relu.borders, std::vector<float>{0.0f});
  EXPECT_EQ(relu.levels, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(relu.error, 0.0);
  ActivationSpec leaky = default_activation_spec(ActivationKind::LeakyReLU);
  leaky.alpha = 0.2f;
  const FewbitTable& t = fewbit_table(leaky, 2, FewbitWeighting::Uniform);
  EXPECT_EQ(t.bits, 1);
  EXPECT_EQ(t.levels, (std::vector<float>{0.2f, 1.0f}));
}

TEST(FewbitTable, TablesAreCachedPerSpecBitsAndWeighting) {
  const ActivationSpec silu = default_activation_spec(ActivationKind::SiLU);
  const FewbitTable& a = fewbit_table(silu, 2, FewbitWeighting::Normal);
  EXPECT_EQ(&a, &fewbit_table(silu, 2, FewbitWeighting::Normal));
  EXPECT_NE(&a, &fewbit_table(silu, 1, FewbitWeighting::Normal));
  EXPECT_NE(&a, &fewbit_table(silu, 2, FewbitWeighting::Uniform));
  ActivationSpec elu = default_activation_spec(ActivationKind::ELU);
  const FewbitTable& e1 = fewbit_table(elu, 2, FewbitWeighting::Normal);
  elu.alpha = 0.5f;
  EXPECT_NE(e1.levels, fewbit_table(elu, 2, FewbitWeighting::Normal).levels);  // alpha is part of the key
  const FewbitTable fresh = build_fewbit_table(silu, 2, FewbitWeighting::Normal);
  EXPECT_EQ(a.borders, fresh.borders);
  EXPECT_EQ(a.levels, fresh.levels);
}

}  // namespace
}  // namespace frugal
