// The bookkeeping SGD and AdamW share: the trainable parameters (or slices of them), a fixed set of float
// buffers per parameter allocated once at construction, the step count, and state()/load_state() over them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/parameter.h"
#include "training/optim/optimizer.h"
#include "training/optim/parameter_slice.h"

namespace frugal {

class PerParameterStateOptimizer : public Optimizer {
 public:
  // `buffer_names` are the per-parameter state suffixes ("momentum_buffer"; "exp_avg", "exp_avg_sq").
  // Parameters with trainable == false are skipped. Buffers come zeroed from `alloc` (when null, the
  // allocator of each parameter's device) tagged {OptimizerState, parameter name}. A slice's buffers hold
  // its elements only: state() then gives "<param>.<buffer>" entries of shape [count], and load_state()
  // takes the same. A parameter may come as several disjoint slices in ascending order (a rank's chunks
  // of a parameter split over several gradient buckets): its entries then hold the slices' elements end
  // to end, [sum of counts].
  PerParameterStateOptimizer(const char* optimizer_name, std::vector<ParameterSlice> params,
                             std::vector<std::string> buffer_names, Allocator* alloc);

  void step(float lr) final;
  NamedTensors state() const final;
  void load_state(const NamedTensors& state) final;
  int64_t steps_taken() const final { return steps_; }
  size_t state_bytes() const final;

 protected:
  struct Slot {
    Parameter* param;
    int64_t begin, count;         // the elements updated
    Tensor grad;                  // undefined: param->grad
    std::vector<Tensor> buffers;  // one per buffer name, each shaped like the parameter (or [count])
    bool whole() const { return begin == 0 && count == param->value.numel() && !grad.defined(); }
    float* value_data() const { return param->value.device_f32() + begin; }
    const float* grad_data() const { return grad.defined() ? grad.device_f32() : param->grad.device_f32() + begin; }
  };
  // Applies one update to slot.param; `step` counts from 1 (this is the step-th update).
  virtual void update(Slot& slot, float lr, int64_t step) = 0;

 private:
  void check_gradients() const;

  // One per parameter: its buffers, which its slots' buffers are views of.
  struct Entry {
    Parameter* param;
    std::vector<Tensor> buffers;
  };

  const char* optimizer_name_;
  std::vector<std::string> buffer_names_;
  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
  int64_t steps_ = 0;
};

}  // namespace frugal
