// What the budget planner knows of each (layer, candidate mode) besides bytes: the gradient error it
// causes and the time its passes take, measured on a few training batches at the run's initial weights
// (docs/memory_budget.md, "What the predicted error means").
//
// The error of a candidate is the relative L2 distance |g - g_exact| / |g_exact| between the network's
// whole parameter gradient with that layer in the candidate mode (everything else exact) and the exact
// one, averaged over the batches. Candidates whose backward is exact (exact, recompute, fewbit on a
// ReLU, quantized on a ReLU) have error 0 and are not run. Candidates that change only their own
// layer's parameter gradients (quantized and randomized_trace on Conv2d/Linear: dX stays exact) are
// measured on every layer in one run per candidate; every other candidate gets a run of its own.
// Every run is timed per layer (Executor::set_timing): a candidate's forward and backward seconds come
// from a run in which its layer had it.
#pragma once
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "training/budget/candidates.h"
#include "training/executor.h"

namespace frugal {

struct CandidateFigures {
  double error = 0;  // relative L2 error of the network's parameter gradient
  double forward_seconds = 0, backward_seconds = 0;
};

struct Measurements {
  std::vector<std::vector<CandidateFigures>> nodes;  // [node][candidate], candidate 0 = exact
  double loss_seconds = 0;                          // the loss and its gradient, per step
  int batches = 0, runs = 0;
  double seconds = 0;      // wall time the measurement took (0 when read from the cache)
  bool from_cache = false;
  // The exact step's time from the per-layer figures.
  double exact_step_seconds() const;
};

// The gradient of the whole network on some batches, compared with the exact one.
struct GradientError {
  double rel_l2 = 0, cosine = 1;   // over all parameters, averaged over batches
  std::vector<double> node_rel_l2;  // per node: |its parameters' g - g_exact| / |g_exact (all)|
  std::vector<NodeTiming> timings;  // per node, per step
  double loss_seconds = 0;          // per step
};

// Runs assignments of one graph on fixed batches against exact gradients computed once. The graph's
// parameters (BN running statistics too) are restored after every step.
class GradientProbe {
 public:
  GradientProbe(Graph& graph, const CandidateSet& candidates, int64_t num_classes, std::vector<Batch> batches,
                uint64_t seed);
  // `micro_batches`: each batch's step split into that many passes (train.micro_batches), still held
  // against the exact gradient of the whole batch.
  GradientError run(const Assignment& a, int micro_batches = 1);
  int runs() const { return runs_; }

 private:
  Graph& graph_;
  const CandidateSet& candidates_;
  int64_t num_classes_;
  std::vector<Batch> batches_;
  uint64_t seed_;
  std::vector<std::vector<float>> exact_;  // per batch: every trainable parameter's gradient, in order
  std::vector<int> owner_;                 // per trainable parameter: its node
  int runs_ = 0;
};

// Measures every candidate (see above). `cache_file` (may be empty): read when it holds measurements
// for `cache_key`, written afterwards.
Measurements measure_candidates(GradientProbe& probe, const CandidateSet& candidates, int batches,
                                const std::string& cache_file, const std::string& cache_key);

}  // namespace frugal
