#include "memory/static_planner.h"

namespace frugal {

StaticPlanner::~StaticPlanner() {
  if (arena_) live_.system_free(arena_, arena_bytes_);
}

PlanSummary StaticPlanner::plan(const StepDescription& step) {
  live_.reset(step);
  plan_ = plan_arena_best(step);
  // A re-plan keeps the arena when the size is unchanged, so predicted == measured still holds.
  if (plan_.arena_bytes != arena_bytes_) {
    if (arena_) live_.system_free(arena_, arena_bytes_);
    arena_ = nullptr;
    arena_bytes_ = 0;
    if (plan_.arena_bytes > 0) {
      arena_ = static_cast<char*>(live_.system_alloc(plan_.arena_bytes));
      ++allocations_;
    }
    arena_bytes_ = plan_.arena_bytes;
  }
  return {arena_bytes_};
}

void* StaticPlanner::acquire(int32_t id) {
  live_.mark_acquired(id);
  if (live_.spec(id).bytes == 0) return live_.system_alloc(0);
  return arena_ + plan_.offsets[id];
}

void StaticPlanner::release(int32_t id) { live_.mark_released(id); }

}  // namespace frugal
