// The run-time side of a planned step, shared by every way of running one (the plain executor step,
// MEM-DFA's two passes, recomputation, data-parallel steps): it owns the planner that places the step's
// buffers on the device, one tensor view per buffer id, and the profiler that records what happened.
// Plan once, then enter and leave the schedule's points (docs/design.md, "Step runtime and schedules"):
//
//   StepRuntime runtime("static", Device::CPU);
//   runtime.reserve(plan.step, plan.shapes, plan.dtypes);   // placement: offsets in one arena
//   runtime.begin_step();
//   runtime.enter(t);  ... runtime.tensor(id) ...  runtime.leave(t);   // at every schedule point t
//
// A buffer's view points at its placed memory from the enter() of its first use through the leave() of
// its last; outside that it points nowhere. In steady state nothing here allocates.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "memory/planner.h"
#include "memory/profiler.h"
#include "memory/step_description.h"

namespace frugal {

class StepRuntime {
 public:
  // ConfigError naming the value when `planner_name` is not a planner. `memory`: where the planner
  // takes its memory from (null: the device's allocator; see training/arena_sharing.h).
  StepRuntime(const std::string& planner_name, Device device, Allocator* memory = nullptr);

  // Places `step` (buffer id i has shapes[i], dtypes[i]). No buffer may be live.
  void reserve(const StepDescription& step, const std::vector<Shape>& shapes, const std::vector<DType>& dtypes);
  bool reserved() const { return reserved_; }
  // Forgets the placement: the next reserve() plans anew.
  void invalidate() { reserved_ = false; }
  // Forgets the placement and the planner's memory (a borrowed block that moved). No buffer may be live.
  void reset();

  void begin_step() { profile_.begin_step(); }
  void enter(int32_t t);  // acquires the buffers whose first use is t
  void leave(int32_t t);  // releases the buffers whose last use is t

  Tensor& tensor(int32_t id) { return tensors_[id]; }
  // Null for kNoBuffer.
  Tensor* buffer(int32_t id) { return id == kNoBuffer ? nullptr : &tensors_[id]; }
  float* workspace(int32_t id) { return id == kNoBuffer ? nullptr : static_cast<float*>(tensors_[id].raw()); }

  Device device() const { return device_; }
  const Planner& planner() const { return *planner_; }
  // Every acquire and release of the last step, as it happened.
  const MemoryProfiler& profile() const { return profile_; }

 private:
  Device device_;
  std::string planner_name_;
  Allocator* memory_;
  std::unique_ptr<Planner> planner_;
  MemoryProfiler profile_;
  std::vector<Tensor> tensors_;  // one rebindable view per buffer id
  std::vector<std::vector<int32_t>> acquire_at_, release_at_;
  bool reserved_ = false;
};

// The key of node `node`'s dropout masks in training step `step`, micro-batch `micro` of it: every
// schedule that runs (or re-runs) a node's forward draws the same masks with it. Micro-batch 0 (and a
// step of one pass) keys as before micro-batches existed; node ids stay below 2^20.
inline RngKey dropout_key(uint64_t seed, int node, uint64_t step, int micro = 0) {
  return {seed,
          (static_cast<uint64_t>(RngStream::Dropout) << 32) | (static_cast<uint64_t>(micro) << 20) |
              static_cast<uint64_t>(node),
          step};
}

}  // namespace frugal
