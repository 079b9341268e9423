// Stochastic gradient descent with momentum, exactly as torch.optim.SGD (single-tensor path):
//   g = grad + weight_decay * p
//   buf = g on the first step, else momentum * buf + (1 - dampening) * g
//   g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
// With momentum == 0 there is no buffer and g is used directly.
#pragma once
#include <memory>
#include <vector>

#include "core/allocator.h"
#include "core/parameter.h"
#include "training/optim/optimizer.h"
#include "training/optim/parameter_slice.h"

namespace frugal {

struct SgdOptions {
  float momentum = 0.9f, dampening = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};

// Weight decay applies only to parameters with weight_decay == true. State: "<param>.momentum_buffer"
// (when momentum != 0). Throws ConfigError naming the option for negative values or nesterov without
// momentum or with dampening (as PyTorch does).
std::unique_ptr<Optimizer> make_sgd(std::vector<Parameter*> params, SgdOptions opts,
                                    Allocator* alloc = nullptr);
// The same over slices of parameters (a rank's shard of the optimizer state, training/distributed/).
std::unique_ptr<Optimizer> make_sgd_for_slices(std::vector<ParameterSlice> params, SgdOptions opts,
                                    Allocator* alloc = nullptr);

}  // namespace frugal
