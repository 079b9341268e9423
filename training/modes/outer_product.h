// outer_product (Mem-AOP-GD, Hernandez et al.; docs/algorithms.md §5): the weight gradient of a linear
// layer, dW = sum_b dY_b X_b^T, is a sum of B per-sample outer products; this mode applies only K of
// them, chosen by a policy (topk, weighted, random), cutting the dW GEMM to K/B of its FLOPs. dX and the
// bias gradient stay exact. Conv layers work the same way with one sample's im2col block as the "row":
// dW = sum_b conv_weight_grad(X_b, dY_b), scored by |X_b|^2 |dY_b|^2.
//
// Error feedback (memory = true): the rows not applied are carried to the next step. Per step, with
// memories M_X [B, ...] and M_G [B, ...] (zero at the start):
//   A = M_X + X,  G = M_G + dY,  s_b = |A_b|^2 |G_b|^2,  S = policy(s, K),
//   dW = sum_{b in S} G_b A_b^T,  then rows S of A and G are zeroed and M_X = sqrt(rho) A, M_G = sqrt(rho) G.
// So sum_b G_b A_b^T = dW + (1/rho) M_G^T M_X: nothing is lost, what is not applied waits in the memory.
// Difference from the paper: Mem-AOP-GD folds the learning rate into the rows (A = M_A + sqrt(lr) X) and
// runs the optimizer with lr 1; frugal's optimizer applies lr itself, so the memory holds gradient rows
// (equal to the paper's for a constant lr, and without lr changes rescaling old rows otherwise).
// As in the paper, later products include cross terms M_G,b X_b^T + dY_b M_X,b^T between the memory and
// new rows; over many steps the applied sum is the sum of the exact gradients plus those cross terms.
//
// The memory is per-layer state (Parameters "<layer>.aop_memory_x" and "<layer>.aop_memory_dy"), saved in
// checkpoints and counted in memory reports. It has one row per sample of the training batch, which is
// learnt when the executor plans the first training step; a smaller (last) batch uses the first rows.
#pragma once
#include <vector>

#include "core/parameter.h"
#include "training/modes/backward_mode.h"
#include "training/modes/outer_product_selection.h"

namespace frugal {

struct OuterProductOptions {
  int64_t k = 0;            // outer products applied per step; 0: k_fraction of the batch
  double k_fraction = 0.5;  // used when k == 0; at least one row
  SamplingPolicy policy = SamplingPolicy::TopK;
  bool memory = true;
  double decay = 1.0;       // rho: the memory is multiplied by rho per step (its factors by sqrt(rho))
};

class OuterProductMode : public BackwardMode {
 public:
  OuterProductMode(const OuterProductOptions& options, const Layer& layer, int layer_index, uint64_t seed);

  std::string name() const override { return "outer_product"; }
  // e.g. "outer_product(k=16 of 64, topk, memory, decay=1; dW FLOPs 25% of exact)"
  std::string describe() const override;
  bool supports(const Layer& layer) const override;
  // Also records the training batch (only training plans ask for the backward workspace).
  size_t backward_workspace_bytes(const Layer& layer) const override;
  void begin_step(int64_t step) override { step_ = step; }
  void backward(Layer& layer, const BackwardArgs& args, const std::vector<const Tensor*>& stash) override;
  // Its weight-gradient estimator overwrites dW.
  bool accumulates_param_grads(const Layer&) const override { return false; }
  // The memory rows; empty without memory. Throws InternalError when asked before the training batch
  // is known (plan a training step first).
  std::vector<Parameter*> state() override;

  // Rows applied per step for a batch of `batch` samples.
  int64_t rows_per_step(int64_t batch) const;
  // The rows applied in the last backward (increasing sample indices).
  const std::vector<int64_t>& last_chosen_rows() const { return chosen_; }

 private:
  void ensure_memory();
  // Multiply-adds of the exact dW GEMM for one sample.
  int64_t weight_grad_macs_per_sample() const;

  OuterProductOptions options_;
  const Layer& layer_;
  int layer_index_;
  uint64_t seed_;
  int64_t step_ = 0;
  mutable int64_t training_batch_ = 0;
  Parameter memory_x_, memory_dy_;
  std::vector<double> scores_;  // host copy of the row scores, for the selection
  Tensor device_scores_;         // [B] F64 on a non-CPU device, made on first use
  std::vector<int64_t> chosen_, order_;
};

}  // namespace frugal
