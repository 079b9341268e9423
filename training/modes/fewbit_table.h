// Lookup tables for the fewbit backward mode (Novikov et al., "Few-Bit Backward"): a piecewise-
// constant approximation q of an activation's derivative f' with 2^bits pieces, optimal in the
// weighted L2 sense  min_q ∫ (f'(x) - q(x))^2 w(x) dx, found by dynamic programming over a grid.
//
// The grid (both weightings use the same spacing, 1/128, so borders are exact binary fractions and
// 0 is a grid point, where ReLU/LeakyReLU/ELU have their kinks):
//   normal  weighting  w = N(0, 1) density, 2048 cells on [-8, 8]   (mass outside: 1.2e-15)
//   uniform weighting  w = 1/20,            2560 cells on [-10, 10] (the range of the reference notebook)
// Integrals of w, f'w, f'^2 w over each cell use 4-point Gauss-Legendre; the DP is the spec's
// D_m(j) = min_{i<j} D_{m-1}(i) + c(x_i, x_j) with O(1) piece costs from prefix sums: O(2^bits N^2).
// Borders of the table are grid points; the outer pieces extend to ±infinity.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ops/activation_spec.h"
#include "ops/packed_codes.h"

namespace frugal {

enum class FewbitWeighting { Normal, Uniform };
const char* fewbit_weighting_name(FewbitWeighting w);  // "normal", "uniform"

// Prefix integrals over the cells of a uniform grid x_i = lo + i (hi - lo) / cells, i = 0..cells:
// w[i] = ∫_{x_0}^{x_i} w, fw[i] = ∫ f' w, ffw[i] = ∫ f'^2 w (each of size cells + 1, [0] = 0).
struct WeightedGrid {
  double lo = 0, hi = 0;
  int cells = 0;
  std::vector<double> w, fw, ffw;

  double x(int i) const { return lo + (hi - lo) * i / cells; }
  // On the piece [x_i, x_j): the optimal level ∫f'w / ∫w and its cost ∫f'^2 w - (∫f'w)^2 / ∫w.
  double piece_level(int i, int j) const;
  double piece_cost(int i, int j) const;
};

WeightedGrid integrate_on_grid(const std::function<double(double)>& derivative,
                               const std::function<double(double)>& weight, double lo, double hi, int cells);

// The optimal split of the grid into `pieces` non-empty runs of cells.
struct PiecewiseConstantFit {
  std::vector<int> cuts;  // pieces + 1 grid indices, 0 = cuts[0] < ... < cuts[pieces] = cells
  double cost = 0;        // sum of the pieces' costs
};

// The DP. Ties go to the smallest cut, so the result is deterministic. Throws InternalError unless
// 1 <= pieces <= cells.
PiecewiseConstantFit optimal_piecewise_constant(const WeightedGrid& grid, int pieces);

struct FewbitTable {
  int bits = 0;                // 1 for ReLU/LeakyReLU whatever was asked: their f' has two values
  std::vector<float> borders;  // 2^bits - 1 ascending inner borders; code = #{j : borders[j] < x}
  std::vector<float> levels;   // 2^bits derivative levels, one per code
  double error = 0;            // ∫(f' - q)^2 w / ∫w over the grid (0 for ReLU/LeakyReLU)
};

// The table as a kernel argument (ops/kernels.h).
FewbitLevels fewbit_levels(const FewbitTable& table);

// ReLU and LeakyReLU: border 0, levels f'(-1) and f'(1) — exact, so fewbit equals exact backprop.
bool fewbit_is_stepwise(ActivationKind kind);

// Builds the table (the DP; tens of milliseconds) — bits in 1..4.
FewbitTable build_fewbit_table(const ActivationSpec& spec, int bits, FewbitWeighting weighting);
// Same, computed once per (activation spec, bits, weighting) and cached for the process (thread-safe).
const FewbitTable& fewbit_table(const ActivationSpec& spec, int bits, FewbitWeighting weighting);

}  // namespace frugal
