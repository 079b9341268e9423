// How far a backward mode's gradients are from exact ones: runs the same batches through a reference
// executor (exact modes) and a candidate executor (any modes) with the same weights and compares every
// trainable parameter's gradient. Works for every mode: it only reads Parameter::grad after train_step.
//
// Each batch is run `draws` times with different step numbers, so stochastic modes draw new probes or
// samples (the reference runs at the same step, so dropout masks agree). Before every draw the parameter
// values (BN running statistics) and the modes' state (error-feedback memory) of both executors are
// restored, so each draw starts from the same point. Per parameter, with a = candidate, e = exact:
//   cosine  mean over batches and draws of cos(a, e)
//   rel_l2  mean of |a - e| / |e|
//   bias    per batch |mean_d (a - e)| / |mean_d e|, averaged over batches; for a deterministic mode it
//           equals rel_l2, for an unbiased one it falls like spread / sqrt(draws)
//   spread  per batch the standard deviation over draws of (a - e) (root of the summed variances), / |e|
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/loader.h"
#include "training/executor.h"

namespace frugal {

struct GradientAgreement {
  std::string parameter;  // "3.weight", or "(all)" for all parameters together
  std::string mode;       // the candidate's describe() for the layer owning the parameter
  int64_t numel = 0;
  double cosine = 0, rel_l2 = 0, bias = 0, spread = 0;
  bool stochastic = false;  // the draws gave different gradients
};

struct GradcheckResult {
  int64_t batches = 0, draws = 0;
  std::vector<GradientAgreement> parameters;  // in graph order
  GradientAgreement total;                    // all trainable parameters as one vector
};

// Parameter values (BN running statistics included) and mode state, to restore after steps that move
// them.
class ParameterSnapshot {
 public:
  explicit ParameterSnapshot(Executor& ex);  // the graph's parameters and the modes' state
  explicit ParameterSnapshot(Graph& graph);  // the graph's parameters
  void restore();

 private:
  void keep(const Tensor& t) { items_.emplace_back(t, t.clone()); }
  std::vector<std::pair<Tensor, Tensor>> items_;
};

// `reference` and `candidate` run graphs with the same parameter names (and, for a meaningful answer,
// the same values). draws >= 1 (>= 2 to estimate spread).
GradcheckResult compare_gradients(Executor& reference, Executor& candidate, const std::vector<Batch>& batches,
                                  int64_t draws, uint64_t seed);

nlohmann::json gradcheck_json(const GradcheckResult& result);
// A fixed-width table, one row per parameter and one for all of them.
std::string gradcheck_table(const GradcheckResult& result);

}  // namespace frugal
