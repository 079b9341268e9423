// One optimizer per layer behind the Optimizer interface. MEM-DFA steps each layer's parameters as soon
// as its block is done (step_layer), while checkpoints and memory accounting see what one optimizer over
// all parameters shows: the same "<param>.<buffer>" entries and a single "step". The updates are
// per-parameter, so stepping layer by layer gives the single optimizer's values bit for bit.
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "training/optim/optimizer.h"

namespace frugal {

class PerLayerOptimizer final : public Optimizer {
 public:
  // `layers[i]`: node i's optimizer over its trainable parameters, null where it has none.
  explicit PerLayerOptimizer(std::vector<std::unique_ptr<Optimizer>> layers);

  // Updates node `node`'s parameters from their .grad (nothing for a node without parameters).
  void step_layer(int node, float lr);
  void step(float lr) override;  // every layer
  NamedTensors state() const override;
  // DataError naming unexpected entries before changing anything; each layer's load_state checks its own.
  void load_state(const NamedTensors& state) override;
  int64_t steps_taken() const override;  // equal for all layers after whole steps
  size_t state_bytes() const override;

 private:
  std::vector<std::unique_ptr<Optimizer>> layers_;
  std::map<std::string, int> owner_;  // state entry name -> node, "step" excluded
};

}  // namespace frugal
