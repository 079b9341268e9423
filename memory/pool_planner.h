// A caching allocator (see block_cache.h): buffers get blocks from cached segments by best fit; blocks
// return to the cache at release and segments are never given back until destruction.
//
// plan() replays the step on a copy of the cache until a replay needs no new segment (the cache has
// reached its steady state), then allocates those segments up front. So the predicted peak is the
// steady-state cache size, and a step driven in step_events() order makes no system allocation from
// the first step on. A different acquire order still works; it may grow the cache lazily, which then
// shows as measured > predicted.
#pragma once
#include <vector>

#include "memory/block_cache.h"
#include "memory/live_buffers.h"
#include "memory/planner.h"

namespace frugal {

class PoolPlanner : public Planner {
 public:
  explicit PoolPlanner(Allocator* device = nullptr) : live_("pool", device) {}
  ~PoolPlanner() override;
  PoolPlanner(const PoolPlanner&) = delete;
  PoolPlanner& operator=(const PoolPlanner&) = delete;

  const char* name() const override { return "pool"; }
  PlanSummary plan(const StepDescription& step) override;
  void* acquire(int32_t id) override;
  void release(int32_t id) override;
  size_t predicted_peak_bytes() const override { return predicted_; }
  size_t measured_peak_bytes() const override { return cache_.total_bytes(); }  // never shrinks
  size_t held_bytes() const override { return cache_.total_bytes(); }
  uint64_t system_allocations() const override { return allocations_; }

  // Replays of the step plan() needed before the cache stopped growing.
  int warmup_replays() const { return warmup_replays_; }

 private:
  void allocate_new_segments(int32_t for_id = -1);  // for_id: the buffer that needs them, -1 for the plan

  LiveBuffers live_;
  BlockCache cache_;
  std::vector<void*> segment_memory_;  // by segment index
  std::vector<PoolBlock> blocks_;      // by buffer id; valid while live
  uint64_t allocations_ = 0;
  size_t predicted_ = 0;
  int warmup_replays_ = 0;
};

}  // namespace frugal
