// Bookkeeping every planner shares: which buffer ids are live, with error messages that name the
// planner and the buffer when the executor acquires or releases out of order.
#pragma once
#include <cstdint>
#include <vector>

#include "memory/step_description.h"

namespace frugal {

class LiveBuffers {
 public:
  explicit LiveBuffers(const char* planner_name) : planner_name_(planner_name) {}

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

 private:
  void check_known(int32_t id, const char* action) const;

  const char* planner_name_;
  StepDescription step_;
  std::vector<uint8_t> live_;
  int32_t num_live_ = 0;
  bool planned_ = false;
};

// 64-byte aligned memory from the system. Zero bytes give a shared, valid, 64-byte aligned address
// that holds nothing (system_free ignores it).
void* system_alloc(size_t bytes, const char* planner_name);
void system_free(void* ptr);

}  // namespace frugal
