#include "memory/pool_planner.h"

#include "core/log.h"

namespace frugal {

namespace {

// Replays converge in two or three rounds in practice; the cap only guards against a pathological
// description, which then grows the cache lazily at run time instead.
constexpr int kMaxWarmupReplays = 32;

// One step in step_events() order on the bookkeeping alone.
void replay_on(BlockCache& cache, const StepDescription& step, const std::vector<MemoryEvent>& events,
               std::vector<PoolBlock>& blocks) {
  for (const MemoryEvent& e : events) {
    const size_t bytes = step.buffers[e.buffer_id].bytes;
    if (bytes == 0) continue;
    if (e.is_alloc)
      blocks[e.buffer_id] = cache.take(bytes);
    else
      cache.put_back(blocks[e.buffer_id]);
  }
}

}  // namespace

PoolPlanner::~PoolPlanner() {
  for (size_t s = 0; s < segment_memory_.size(); ++s)
    live_.system_free(segment_memory_[s], cache_.segment_bytes(static_cast<int32_t>(s)));
}

PlanSummary PoolPlanner::plan(const StepDescription& step) {
  live_.reset(step);
  blocks_.assign(step.buffers.size(), PoolBlock{});
  // Nothing is live, so every segment is one free block and the cache state is just its segment list;
  // a replay that adds no segment ends in the state it started from, which is the steady state.
  const std::vector<MemoryEvent> events = step_events(step);
  BlockCache simulated = cache_;
  std::vector<PoolBlock> blocks(step.buffers.size());
  warmup_replays_ = 0;
  for (int round = 0; round < kMaxWarmupReplays; ++round) {
    const int32_t before = simulated.num_segments();
    replay_on(simulated, step, events, blocks);
    ++warmup_replays_;
    if (simulated.num_segments() == before) break;
    if (round + 1 == kMaxWarmupReplays)
      log().warn(
          "pool planner: cache still growing after {} replays of the step; it will grow at run "
          "time",
          kMaxWarmupReplays);
  }
  cache_ = simulated;
  allocate_new_segments();
  predicted_ = cache_.total_bytes();
  return {predicted_};
}

void PoolPlanner::allocate_new_segments(int32_t for_id) {
  while (static_cast<int32_t>(segment_memory_.size()) < cache_.num_segments()) {
    const int32_t s = static_cast<int32_t>(segment_memory_.size());
    segment_memory_.push_back(live_.system_alloc(cache_.segment_bytes(s), for_id));
    ++allocations_;
  }
}

void* PoolPlanner::acquire(int32_t id) {
  live_.mark_acquired(id);
  const size_t bytes = live_.spec(id).bytes;
  if (bytes == 0) return live_.system_alloc(0);
  blocks_[id] = cache_.take(bytes);
  allocate_new_segments(id);
  return static_cast<char*>(segment_memory_[blocks_[id].segment]) + blocks_[id].offset;
}

void PoolPlanner::release(int32_t id) {
  live_.mark_released(id);
  if (live_.spec(id).bytes > 0) cache_.put_back(blocks_[id]);
}

}  // namespace frugal
