#include "memory/naive_planner.h"

#include <algorithm>

namespace frugal {

NaivePlanner::~NaivePlanner() {
  for (size_t id = 0; id < pointers_.size(); ++id)
    if (pointers_[id]) live_.system_free(pointers_[id], live_.spec(static_cast<int32_t>(id)).bytes);
}

PlanSummary NaivePlanner::plan(const StepDescription& step) {
  live_.reset(step);
  pointers_.assign(step.buffers.size(), nullptr);
  peak_bytes_ = held_bytes_;  // zero: nothing is live between plans
  predicted_ = lower_bound_bytes(step);
  return {predicted_};
}

void* NaivePlanner::acquire(int32_t id) {
  live_.mark_acquired(id);
  const size_t bytes = aligned_bytes(live_.spec(id).bytes);
  pointers_[id] = live_.system_alloc(bytes, id);
  if (bytes > 0) ++allocations_;
  held_bytes_ += bytes;
  peak_bytes_ = std::max(peak_bytes_, held_bytes_);
  return pointers_[id];
}

void NaivePlanner::release(int32_t id) {
  live_.mark_released(id);
  live_.system_free(pointers_[id], live_.spec(id).bytes);
  pointers_[id] = nullptr;
  held_bytes_ -= aligned_bytes(live_.spec(id).bytes);
}

}  // namespace frugal
