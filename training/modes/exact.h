// Exact backpropagation: keeps what the layer's own backward needs, as PyTorch's autograd would.
#pragma once
#include "training/modes/backward_mode.h"

namespace frugal {

class ExactMode : public BackwardMode {
 public:
  std::string name() const override { return "exact"; }
  bool supports(const Layer&) const override { return true; }
};

}  // namespace frugal
