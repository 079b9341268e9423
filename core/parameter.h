// A trainable parameter (or a non-trainable buffer such as BN running statistics) with its
// PyTorch-style name, e.g. "layer1.0.conv1.weight".
#pragma once
#include <string>

#include "core/tensor.h"

namespace frugal {

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;              // same shape as value; undefined for buffers
  bool trainable = true;    // false for buffers (running_mean, running_var, num_batches_tracked)
  bool weight_decay = true; // optimizers may exempt biases and BN parameters
};

}  // namespace frugal
