// Bookkeeping every planner shares: which buffer ids are live, with error messages that name the
// planner and the buffer when the executor acquires or releases out of order, and where the planner's
// memory comes from (the heap, or a device's allocator).
#pragma once
#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "memory/step_description.h"

namespace frugal {

class LiveBuffers {
 public:
  // `device`: the allocator of the device whose memory the planner places (null: 64-byte aligned heap
  // memory, the CPU).
  LiveBuffers(const char* planner_name, Allocator* device) : planner_name_(planner_name), device_(device) {}

  // Starts a new plan; InternalError when a buffer of the previous plan is still live.
  void reset(const StepDescription& step);
  bool planned() const { return planned_; }
  const BufferSpec& spec(int32_t id) const { return step_.buffers[id]; }
  const StepDescription& step() const { return step_; }

  // Validate and flip the live flag; InternalError on unknown ids, double acquire or stray release.
  void mark_acquired(int32_t id);
  void mark_released(int32_t id);
  bool is_live(int32_t id) const { return live_[id] != 0; }
  int32_t num_live() const { return num_live_; }

  // The planner's own memory. Zero bytes give a shared, valid, 64-byte aligned address that holds
  // nothing (system_free ignores it). `for_id`: the buffer the memory is for, or -1 for memory shared
  // by several (an arena, a pool segment); a refusal names that buffer, or else the step's largest.
  void* system_alloc(size_t bytes, int32_t for_id = -1) const;
  void system_free(void* ptr, size_t bytes) const;

 private:
  void check_known(int32_t id, const char* action) const;

  const char* planner_name_;
  Allocator* device_;
  StepDescription step_;
  std::vector<uint8_t> live_;
  int32_t num_live_ = 0;
  bool planned_ = false;
};


}  // namespace frugal
