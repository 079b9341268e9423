// PyTorch's default initialisation for conv and linear layers, reproducible from (seed, layer index).
#pragma once
#include "core/rng.h"
#include "core/tensor.h"

namespace frugal {

// kaiming_uniform_(a=sqrt(5)) on the weight: U(-b, b) with b = 1/sqrt(fan_in); the bias uses the same
// bound. `fan_in` = in_features or (in_channels/groups)*kh*kw.
void init_pytorch_default(const RngKey& key, int64_t fan_in, Tensor& weight, Tensor* bias);

}  // namespace frugal
