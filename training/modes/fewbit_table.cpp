#include "training/modes/fewbit_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>

#include "core/error.h"

namespace frugal {
namespace {

// 4-point Gauss-Legendre on [-1, 1]: exact for polynomials of degree 7.
constexpr double kGaussNodes[4] = {-0.86113631159405257522, -0.33998104358485626480, 0.33998104358485626480,
                                   0.86113631159405257522};
constexpr double kGaussWeights[4] = {0.34785484513745385737, 0.65214515486254614263, 0.65214515486254614263,
                                     0.34785484513745385737};

struct GridChoice {
  double lo, hi;
  int cells;
  std::function<double(double)> weight;
};

GridChoice grid_for(FewbitWeighting weighting) {
  if (weighting == FewbitWeighting::Normal)
    return {-8.0, 8.0, 2048, [](double x) { return std::exp(-0.5 * x * x) * 0.39894228040143267794; }};
  return {-10.0, 10.0, 2560, [](double) { return 1.0 / 20.0; }};
}

}  // namespace

const char* fewbit_weighting_name(FewbitWeighting w) { return w == FewbitWeighting::Normal ? "normal" : "uniform"; }

double WeightedGrid::piece_level(int i, int j) const {
  const double mass = w[j] - w[i];
  return mass > 0 ? (fw[j] - fw[i]) / mass : 0.0;
}

double WeightedGrid::piece_cost(int i, int j) const {
  const double mass = w[j] - w[i], first = fw[j] - fw[i], second = ffw[j] - ffw[i];
  const double cost = mass > 0 ? second - first * first / mass : second;
  return std::max(cost, 0.0);  // rounding can leave -1e-17 where f' is constant
}

WeightedGrid integrate_on_grid(const std::function<double(double)>& derivative,
                               const std::function<double(double)>& weight, double lo, double hi, int cells) {
  FRUGAL_CHECK(cells >= 1 && hi > lo, InternalError,
               "fewbit grid: need hi > lo and cells >= 1, got [" + std::to_string(lo) + ", " + std::to_string(hi) +
                   "] with " + std::to_string(cells) + " cells");
  WeightedGrid g;
  g.lo = lo;
  g.hi = hi;
  g.cells = cells;
  g.w.assign(cells + 1, 0.0);
  g.fw.assign(cells + 1, 0.0);
  g.ffw.assign(cells + 1, 0.0);
  for (int i = 0; i < cells; ++i) {
    const double a = g.x(i), b = g.x(i + 1), half = 0.5 * (b - a), mid = 0.5 * (a + b);
    double iw = 0, ifw = 0, iffw = 0;
    for (int k = 0; k < 4; ++k) {
      const double x = mid + half * kGaussNodes[k];
      const double wk = kGaussWeights[k] * half * weight(x), d = derivative(x);
      iw += wk;
      ifw += wk * d;
      iffw += wk * d * d;
    }
    g.w[i + 1] = g.w[i] + iw;
    g.fw[i + 1] = g.fw[i] + ifw;
    g.ffw[i + 1] = g.ffw[i] + iffw;
  }
  return g;
}

PiecewiseConstantFit optimal_piecewise_constant(const WeightedGrid& g, int pieces) {
  const int n = g.cells, m_total = pieces;
  FRUGAL_CHECK(pieces >= 1 && pieces <= n, InternalError,
               "fewbit DP: cannot split " + std::to_string(n) + " grid cells into " + std::to_string(pieces) +
                   " non-empty pieces");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[j]: least cost of covering cells [0, j) with the pieces so far; from[m][j]: where piece m starts.
  std::vector<double> prev(n + 1, kInf), cur(n + 1, kInf);
  std::vector<std::vector<int>> from(m_total + 1, std::vector<int>(n + 1, -1));
  prev[0] = 0.0;
  for (int m = 1; m <= m_total; ++m) {
    // m pieces cover at least m cells and leave one cell for each remaining piece.
    const int j_lo = m == m_total ? n : m, j_hi = n - (m_total - m);
    std::fill(cur.begin(), cur.end(), kInf);
    std::vector<int>& arg = from[m];
    // Each j is computed by one thread from `prev` alone, so the schedule cannot change the result.
#pragma omp parallel for schedule(dynamic, 16) if (j_hi - j_lo >= 256)
    for (int j = j_lo; j <= j_hi; ++j) {
      double best = kInf;
      int best_i = -1;
      for (int i = m - 1; i < j; ++i) {
        const double c = prev[i] + g.piece_cost(i, j);
        if (c < best) {  // strict: ties keep the smallest i
          best = c;
          best_i = i;
        }
      }
      cur[j] = best;
      arg[j] = best_i;
    }
    std::swap(prev, cur);
  }
  PiecewiseConstantFit fit;
  fit.cost = prev[n];
  fit.cuts.assign(m_total + 1, 0);
  fit.cuts[m_total] = n;
  for (int m = m_total; m >= 1; --m) fit.cuts[m - 1] = from[m][fit.cuts[m]];
  return fit;
}

bool fewbit_is_stepwise(ActivationKind kind) {
  return kind == ActivationKind::ReLU || kind == ActivationKind::LeakyReLU;
}

FewbitTable build_fewbit_table(const ActivationSpec& spec, int bits, FewbitWeighting weighting) {
  FRUGAL_CHECK(bits >= 1 && bits <= 4, InternalError,
               "fewbit table: bits must be in 1..4, got " + std::to_string(bits));
  FewbitTable t;
  if (fewbit_is_stepwise(spec.kind)) {
    // f' is constant on each side of 0 and f'(0) is the left value (PyTorch), matching code 0 at x == 0.
    t.bits = 1;
    t.borders = {0.0f};
    t.levels = {static_cast<float>(activation_derivative(spec, -1.0)),
                static_cast<float>(activation_derivative(spec, 1.0))};
    return t;
  }
  const GridChoice choice = grid_for(weighting);
  const WeightedGrid g = integrate_on_grid([&](double x) { return activation_derivative(spec, x); }, choice.weight,
                                           choice.lo, choice.hi, choice.cells);
  const int pieces = 1 << bits;
  const PiecewiseConstantFit fit = optimal_piecewise_constant(g, pieces);
  t.bits = bits;
  for (int m = 1; m < pieces; ++m) t.borders.push_back(static_cast<float>(g.x(fit.cuts[m])));
  for (int m = 0; m < pieces; ++m) t.levels.push_back(static_cast<float>(g.piece_level(fit.cuts[m], fit.cuts[m + 1])));
  t.error = fit.cost / g.w[g.cells];
  return t;
}

const FewbitTable& fewbit_table(const ActivationSpec& spec, int bits, FewbitWeighting weighting) {
  using Key = std::tuple<int, float, float, float, int, int>;
  static std::mutex mutex;
  static std::map<Key, FewbitTable> cache;
  const int effective_bits = fewbit_is_stepwise(spec.kind) ? 1 : bits;
  const Key key{static_cast<int>(spec.kind), spec.alpha, spec.beta, spec.threshold, effective_bits,
                static_cast<int>(weighting)};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, build_fewbit_table(spec, bits, weighting)).first;
  return it->second;
}

FewbitLevels fewbit_levels(const FewbitTable& table) {
  FRUGAL_CHECK(table.bits >= 1 && table.bits <= kMaxFewbitBits &&
                   table.borders.size() + 1 == table.levels.size() && table.levels.size() == (size_t{1} << table.bits),
               InternalError, "fewbit table of " + std::to_string(table.bits) + " bits has " +
                                  std::to_string(table.levels.size()) + " levels");
  FewbitLevels l;
  l.bits = table.bits;
  std::copy(table.borders.begin(), table.borders.end(), l.borders);
  std::copy(table.levels.begin(), table.levels.end(), l.levels);
  return l;
}

}  // namespace frugal
