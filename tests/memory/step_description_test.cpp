#include "memory/step_description.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

StepDescription three_buffer_step() {
  // t:        0    1    2    3
  // a (100)   [----]
  // b (64)         [---------]
  // c (1000)            [----]
  StepDescription step;
  step.schedule = {{"data", "data"}, {"fc1", "forward"}, {"fc1", "backward"}, {"sgd", "optimizer"}};
  step.buffers = {{0, 100, MemoryCategory::Data, 0, 1, "a", ""},
                  {1, 64, MemoryCategory::Activations, 1, 3, "b", "fc1"},
                  {2, 1000, MemoryCategory::Stash, 2, 3, "c", "fc1"}};
  return step;
}

TEST(StepDescription, AlignedBytesRoundsUpToSixtyFour) {
  EXPECT_EQ(aligned_bytes(0), 0u);
  EXPECT_EQ(aligned_bytes(1), 64u);
  EXPECT_EQ(aligned_bytes(64), 64u);
  EXPECT_EQ(aligned_bytes(65), 128u);
}

TEST(StepDescription, LowerBoundIsTheLargestSetOfBuffersLiveTogether) {
  // t=1: a+b = 128+64; t=2: b+c = 64+1024.
  EXPECT_EQ(lower_bound_bytes(three_buffer_step()), 64u + 1024u);
}

TEST(StepDescription, LowerBoundMatchesBruteForceOnRandomSteps) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const StepDescription step = random_step(seed);
    size_t expected = 0;
    for (int32_t t = 0; t < step.num_times(); ++t) {
      size_t live = 0;
      for (const BufferSpec& b : step.buffers)
        if (b.first_use <= t && t <= b.last_use) live += aligned_bytes(b.bytes);
      expected = std::max(expected, live);
    }
    ASSERT_EQ(lower_bound_bytes(step), expected) << "seed " << seed;
  }
}

TEST(StepDescription, LiveBytesByCategorySplitTheLiveTotal) {
  const std::vector<CategoryBytes> live = live_bytes_by_category(three_buffer_step());
  ASSERT_EQ(live.size(), 4u);
  EXPECT_EQ(live[2][static_cast<int>(MemoryCategory::Activations)], 64u);
  EXPECT_EQ(live[2][static_cast<int>(MemoryCategory::Stash)], 1024u);
  EXPECT_EQ(live[2][static_cast<int>(MemoryCategory::Data)], 0u);
  EXPECT_EQ(peak_time(live), 2);
}

TEST(StepDescription, ValidateRejectsAnIdThatIsNotItsIndex) {
  StepDescription step = three_buffer_step();
  step.buffers[1].id = 7;
  try {
    step.validate();
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
}

TEST(StepDescription, ValidateRejectsALifetimeOutsideTheSchedule) {
  StepDescription step = three_buffer_step();
  step.buffers[2].last_use = 4;
  EXPECT_THROW(step.validate(), InternalError);
  step.buffers[2].last_use = 1;  // ends before it starts
  EXPECT_THROW(step.validate(), InternalError);
}

TEST(StepDescription, StepEventsAcquireAtFirstUseAndReleaseAfterLastUse) {
  const StepDescription step = random_step(11);
  const std::vector<MemoryEvent> events = step_events(step);
  ASSERT_EQ(events.size(), 2 * step.buffers.size());
  std::vector<int> seen(step.buffers.size(), 0);
  for (size_t i = 0; i < events.size(); ++i) {
    const MemoryEvent& e = events[i];
    const BufferSpec& b = step.buffers[e.buffer_id];
    EXPECT_EQ(e.time, e.is_alloc ? b.first_use : b.last_use);
    EXPECT_EQ(seen[e.buffer_id]++, e.is_alloc ? 0 : 1) << "acquire must come before release";
    if (i > 0) {
      const MemoryEvent& prev = events[i - 1];
      EXPECT_TRUE(prev.time < e.time || (prev.time == e.time && (prev.is_alloc || !e.is_alloc)))
          << "events sorted by time, acquires before releases at each time";
    }
  }
}

}  // namespace
}  // namespace frugal
