#include "memory/profiler.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

StepDescription two_buffer_step() {
  StepDescription step;
  step.schedule = {{"a", "forward"}, {"b", "forward"}, {"b", "backward"}, {"a", "backward"}};
  step.buffers = {{0, 640, MemoryCategory::Activations, 0, 1, "x", "a"},
                  {1, 128, MemoryCategory::Stash, 1, 2, "y", "b"}};
  return step;
}

TEST(MemoryProfiler, TimelineMatchesThePlanWhenTheExecutorFollowsIt) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const StepDescription step = random_step(seed);
    MemoryProfiler profiler(step);
    for (const MemoryEvent& e : step_events(step))
      e.is_alloc ? profiler.record_acquire(e.buffer_id, e.time)
                 : profiler.record_release(e.buffer_id, e.time);
    ASSERT_EQ(profiler.timeline(), live_bytes_by_category(step)) << "seed " << seed;
    ASSERT_EQ(profiler.peak_bytes(), lower_bound_bytes(step));
    ASSERT_TRUE(profiler.lifetime_mismatches().empty());
  }
}

TEST(MemoryProfiler, BufferCountsThroughItsReleaseTime) {
  MemoryProfiler profiler(two_buffer_step());
  profiler.record_acquire(0, 0);
  profiler.record_acquire(1, 1);
  profiler.record_release(0, 1);
  profiler.record_release(1, 2);
  const std::vector<CategoryBytes> live = profiler.timeline();
  EXPECT_EQ(total_bytes(live[0]), 640u);
  EXPECT_EQ(total_bytes(live[1]), 640u + 128u);
  EXPECT_EQ(total_bytes(live[2]), 128u);
  EXPECT_EQ(total_bytes(live[3]), 0u);
  EXPECT_EQ(profiler.peak_time(), 1);
  EXPECT_EQ(profiler.by_category_at_peak()[static_cast<int>(MemoryCategory::Stash)], 128u);
}

TEST(MemoryProfiler, UnreleasedBufferCountsToTheEndAndIsAMismatch) {
  MemoryProfiler profiler(two_buffer_step());
  profiler.record_acquire(0, 0);
  profiler.record_release(0, 1);
  profiler.record_acquire(1, 1);
  EXPECT_EQ(total_bytes(profiler.timeline()[3]), 128u);
  EXPECT_EQ(profiler.lifetime_mismatches(), std::vector<int32_t>{1});
}

TEST(MemoryProfiler, RejectsDoubleAcquireStrayReleaseUnknownIdsAndTimes) {
  MemoryProfiler profiler(two_buffer_step());
  EXPECT_THROW(profiler.record_release(0, 1), InternalError);
  EXPECT_THROW(profiler.record_acquire(2, 0), InternalError);
  EXPECT_THROW(profiler.record_acquire(0, 4), InternalError);
  profiler.record_acquire(0, 0);
  EXPECT_THROW(profiler.record_acquire(0, 1), InternalError);
}

TEST(MemoryProfiler, BeginStepForgetsEventsAndKeepsItsStorage) {
  const StepDescription step = random_step(2);
  MemoryProfiler profiler(step);
  for (int round = 0; round < 2; ++round) {
    profiler.begin_step();
    const MemoryEvent* storage = profiler.events().data();
    for (const MemoryEvent& e : step_events(step))
      e.is_alloc ? profiler.record_acquire(e.buffer_id, e.time)
                 : profiler.record_release(e.buffer_id, e.time);
    EXPECT_EQ(profiler.events().size(), 2 * step.buffers.size());
    EXPECT_EQ(profiler.events().data(), storage) << "recording a step must not reallocate";
  }
}

TEST(MemoryProfiler, PeakRssIsReportedOnLinux) { EXPECT_GT(peak_rss_bytes(), size_t{1} << 20); }

}  // namespace
}  // namespace frugal
