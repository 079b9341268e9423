// The runtime side of memory planning: a Planner places the buffers of a StepDescription and hands
// their memory out by id while the step runs.
//
// Contract with the executor:
//  - plan(step) once before the first step; calling it again re-plans for a new description (e.g. a
//    new batch size). No buffer may be live when plan() is called.
//  - acquire(id) at the buffer's first use, release(id) after its last use, once each per step.
//    Contents survive only from acquire to release: buffers that must keep their values across steps
//    (weights, optimizer state) stay acquired between steps.
//  - Not thread-safe: call from the thread that drives the step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "memory/step_description.h"

namespace frugal {

struct PlanSummary {
  size_t predicted_peak_bytes = 0;  // most bytes the planner will hold from the system during a step
};

class Planner {
 public:
  virtual ~Planner() = default;
  virtual const char* name() const = 0;  // "naive", "pool", "static"
  virtual PlanSummary plan(const StepDescription& step) = 0;
  virtual void* acquire(int32_t id) = 0;  // 64-byte aligned; InternalError on unknown or live ids
  virtual void release(int32_t id) = 0;   // InternalError when the id is not live
  // What the last plan() returned; 0 before the first plan.
  virtual size_t predicted_peak_bytes() const = 0;
  // Most bytes held from the system at once since the last plan().
  virtual size_t measured_peak_bytes() const = 0;
  virtual size_t held_bytes() const = 0;                      // bytes held from the system now
  virtual uint64_t system_allocations() const = 0;            // heap allocations made so far (all time)
  virtual std::vector<size_t> offsets() const { return {}; }  // static planner: offset of each id
};

// The planners make_planner knows, in the order the error message lists them.
const std::vector<std::string>& planner_names();
// ConfigError naming the value and the valid names when `name` is not one of planner_names(). The
// planner takes its memory from `device` (null: the heap of the CPU); its plan never depends on it.
std::unique_ptr<Planner> make_planner(const std::string& name, Allocator* device = nullptr);

// Drives `planner` through one step in the order of step_events(step): what the executor does, minus
// the compute. Returns the largest held_bytes() seen. For tests, benchmarks and `frugal profile`.
size_t replay_step(Planner& planner, const StepDescription& step);

}  // namespace frugal
