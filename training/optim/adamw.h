// Adam with decoupled weight decay, exactly as torch.optim.AdamW (single-tensor path, amsgrad off):
//   p *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#pragma once
#include <memory>
#include <vector>

#include "core/allocator.h"
#include "core/parameter.h"
#include "training/optim/optimizer.h"
#include "training/optim/parameter_slice.h"

namespace frugal {

struct AdamWOptions {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
};

// Weight decay applies only to parameters with weight_decay == true. State: "<param>.exp_avg" and
// "<param>.exp_avg_sq". Throws ConfigError naming the option for betas outside [0, 1) or negative
// eps / weight_decay.
std::unique_ptr<Optimizer> make_adamw(std::vector<Parameter*> params, AdamWOptions opts,
                                      Allocator* alloc = nullptr);
// The same over slices of parameters (a rank's shard of the optimizer state, training/distributed/).
std::unique_ptr<Optimizer> make_adamw_for_slices(std::vector<ParameterSlice> params, AdamWOptions opts,
                                      Allocator* alloc = nullptr);

}  // namespace frugal
