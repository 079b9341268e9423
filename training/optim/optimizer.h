// The update rule applied after backward: Optimizer.step(lr) reads each trainable Parameter's .grad and
// updates its .value in place. Learning rates come from an LrSchedule, one value per step.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/io/safetensors.h"

namespace frugal {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every trainable Parameter from its .grad. Performs no allocation.
  virtual void step(float lr) = 0;
  // For checkpoints: "<param>.<buffer>" entries (e.g. "fc.weight.momentum_buffer") plus "step", the
  // number of steps taken (I64, shape []). The tensors share the optimizer's buffers: save or clone them
  // before the next step().
  virtual NamedTensors state() const = 0;
  // Copies a state() result into this optimizer's buffers. Throws DataError naming every missing,
  // unexpected or mismatched entry, before changing anything.
  virtual void load_state(const NamedTensors& state) = 0;
  virtual int64_t steps_taken() const = 0;
  virtual size_t state_bytes() const = 0;  // bytes of all state buffers
};

}  // namespace frugal
