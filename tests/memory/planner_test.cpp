#include "memory/planner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "memory/pool_planner.h"
#include "memory/static_planner.h"
#include "tests/memory/random_steps.h"

namespace frugal {
namespace {

// Buffer `id` is filled with a 32-bit word unique to the id, repeated (the tail takes its first bytes).
uint32_t pattern_word(int32_t id) { return static_cast<uint32_t>(id + 1) * 2654435761u; }

void fill_pattern(void* memory, size_t bytes, int32_t id) {
  const uint32_t word = pattern_word(id);
  auto* out = static_cast<uint8_t*>(memory);
  for (size_t i = 0; i + 4 <= bytes; i += 4) std::memcpy(out + i, &word, 4);
  std::memcpy(out + bytes / 4 * 4, &word, bytes % 4);
}

// Whether the buffer still holds its pattern.
bool pattern_intact(const void* memory, size_t bytes, int32_t id) {
  const uint32_t word = pattern_word(id);
  const auto* in = static_cast<const uint8_t*>(memory);
  uint32_t differs = 0;  // OR of differences: a branch-free loop the compiler vectorizes
  for (size_t i = 0; i + 4 <= bytes; i += 4) {
    uint32_t got;
    std::memcpy(&got, in + i, 4);
    differs |= got ^ word;
  }
  return differs == 0 && std::memcmp(in + bytes / 4 * 4, &word, bytes % 4) == 0;
}

RandomStepOptions mixed_sizes() {
  RandomStepOptions opt;
  opt.large_fraction = 0.05;  // some 1-4 MiB buffers, so the pool's large path is covered
  return opt;
}

class EveryPlanner : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Memory, EveryPlanner, testing::Values("naive", "pool", "static"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST_P(EveryPlanner, PredictedPeakEqualsMeasuredPeakWhenReplayingTheStep) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const StepDescription step = random_step(seed, mixed_sizes());
    auto planner = make_planner(GetParam());
    const PlanSummary summary = planner->plan(step);
    replay_step(*planner, step);
    ASSERT_EQ(planner->measured_peak_bytes(), summary.predicted_peak_bytes) << "seed " << seed;
    ASSERT_EQ(planner->predicted_peak_bytes(), summary.predicted_peak_bytes);
    ASSERT_GE(summary.predicted_peak_bytes, lower_bound_bytes(step)) << "seed " << seed;
  }
}

TEST_P(EveryPlanner, PointersAreSixtyFourByteAligned) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const StepDescription step = random_step(seed, mixed_sizes());
    auto planner = make_planner(GetParam());
    planner->plan(step);
    for (const MemoryEvent& e : step_events(step)) {
      if (!e.is_alloc) {
        planner->release(e.buffer_id);
        continue;
      }
      const void* p = planner->acquire(e.buffer_id);
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % kTensorAlignment, 0u) << "seed " << seed;
    }
  }
}

TEST_P(EveryPlanner, WritingEveryBufferDoesNotCorruptAnotherLiveBuffer) {
  // Fill each buffer's full extent at acquire; any overlap with a live buffer shows at its release.
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const StepDescription step = random_step(seed, mixed_sizes());
    auto planner = make_planner(GetParam());
    planner->plan(step);
    std::vector<void*> memory(step.buffers.size(), nullptr);
    for (int round = 0; round < 2; ++round)
      for (const MemoryEvent& e : step_events(step)) {
        const int32_t id = e.buffer_id;
        const size_t bytes = step.buffers[id].bytes;
        if (e.is_alloc) {
          memory[id] = planner->acquire(id);
          fill_pattern(memory[id], bytes, id);
          continue;
        }
        ASSERT_TRUE(pattern_intact(memory[id], bytes, id))
            << "seed " << seed << ": buffer " << id << " was overwritten while live";
        planner->release(id);
      }
  }
}

TEST_P(EveryPlanner, ReplanWithANewDescriptionPredictsTheNewStep) {
  auto planner = make_planner(GetParam());
  for (uint64_t seed : {3u, 4u, 5u}) {
    const StepDescription step = random_step(seed);
    const PlanSummary summary = planner->plan(step);
    replay_step(*planner, step);
    // The pool keeps its cache across plans, so it is checked against its own prediction.
    EXPECT_EQ(planner->measured_peak_bytes(), summary.predicted_peak_bytes) << "seed " << seed;
  }
}

TEST_P(EveryPlanner, AcquireOfAnUnknownIdIsAnInternalError) {
  auto planner = make_planner(GetParam());
  planner->plan(random_step(1));
  EXPECT_THROW(planner->acquire(-1), InternalError);
  EXPECT_THROW(planner->acquire(100000), InternalError);
}

TEST_P(EveryPlanner, AcquireOfALiveIdIsAnInternalError) {
  auto planner = make_planner(GetParam());
  planner->plan(random_step(1));
  planner->acquire(0);
  try {
    planner->acquire(0);
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("buffer0"), std::string::npos) << e.what();
  }
}

TEST_P(EveryPlanner, ReleaseOfABufferThatIsNotLiveIsAnInternalError) {
  auto planner = make_planner(GetParam());
  planner->plan(random_step(1));
  EXPECT_THROW(planner->release(0), InternalError);
}

TEST_P(EveryPlanner, AcquireBeforePlanIsAnInternalError) {
  EXPECT_THROW(make_planner(GetParam())->acquire(0), InternalError);
}

TEST_P(EveryPlanner, PlanWhileBuffersAreLiveIsAnInternalError) {
  auto planner = make_planner(GetParam());
  const StepDescription step = random_step(1);
  planner->plan(step);
  planner->acquire(0);
  EXPECT_THROW(planner->plan(step), InternalError);
}

TEST(MakePlanner, UnknownNameIsAConfigErrorListingTheValidNames) {
  try {
    make_planner("bogus");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    for (const char* part : {"'bogus'", "naive", "pool", "static"})
      EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(NaivePlanner, AllocatesAtAcquireAndFreesAtRelease) {
  const StepDescription step = random_step(8);
  auto planner = make_planner("naive");
  planner->plan(step);
  replay_step(*planner, step);
  uint64_t nonzero = 0;
  for (const BufferSpec& b : step.buffers) nonzero += b.bytes > 0;
  EXPECT_EQ(planner->system_allocations(), nonzero);
  EXPECT_EQ(planner->held_bytes(), 0u);
}

TEST(PoolPlanner, MakesNoSystemAllocationWhenReplayingStepsAfterPlan) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const StepDescription step = random_step(seed, mixed_sizes());
    PoolPlanner planner;
    planner.plan(step);
    const uint64_t after_plan = planner.system_allocations();
    replay_step(planner, step);
    replay_step(planner, step);
    ASSERT_EQ(planner.system_allocations(), after_plan) << "seed " << seed;
  }
}

TEST(PoolPlanner, ReusesCachedBlocksAcrossDisjointLifetimes) {
  // Ten same-sized buffers one after another need one segment, not ten.
  StepDescription step;
  for (int32_t t = 0; t < 10; ++t) {
    step.schedule.push_back({"op", "forward"});
    step.buffers.push_back({t, 5000, MemoryCategory::Activations, t, t, "a" + std::to_string(t), ""});
  }
  PoolPlanner planner;
  EXPECT_EQ(planner.plan(step).predicted_peak_bytes, pool_size_class(5000));
  EXPECT_EQ(planner.system_allocations(), 1u);
}

TEST(StaticPlanner, HoldsOneArenaAndHandsOutItsOffsets) {
  const StepDescription step = random_step(9);
  StaticPlanner planner;
  const PlanSummary summary = planner.plan(step);
  EXPECT_EQ(planner.system_allocations(), 1u);
  EXPECT_EQ(planner.held_bytes(), summary.predicted_peak_bytes);
  const std::vector<size_t> offsets = planner.offsets();
  // Buffer 0 is nonzero-sized in this step; every other pointer is base + its offset.
  ASSERT_GT(step.buffers[0].bytes, 0u);
  char* base = static_cast<char*>(planner.acquire(0)) - offsets[0];
  for (const BufferSpec& b : step.buffers)
    if (b.id > 0 && b.bytes > 0) {
      EXPECT_EQ(planner.acquire(b.id), base + offsets[b.id]);
    }
  for (const BufferSpec& b : step.buffers)
    if (b.bytes > 0) planner.release(b.id);
  planner.plan(step);  // same arena size: the arena is kept
  EXPECT_EQ(planner.system_allocations(), 1u);
}

// A step whose largest buffer (2^62 bytes) no system can hold: every planner's refusal is a
// MemoryBudgetError naming that buffer and its layer, not an empty owner.
TEST_P(EveryPlanner, RefusedMemoryNamesTheBufferAndItsLayer) {
  StepDescription step;
  step.schedule = {{"fc1", "forward"}, {"fc2", "forward"}};
  step.buffers = {{0, 1024, MemoryCategory::Activations, 0, 1, "fc1/output", "fc1"},
                  {1, size_t{1} << 62, MemoryCategory::Activations, 1, 1, "fc2/output", "fc2"}};
  auto planner = make_planner(GetParam());
  try {
    planner->plan(step);
    replay_step(*planner, step);
    FAIL() << "2^62 bytes were granted";
  } catch (const MemoryBudgetError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("out of memory"), std::string::npos) << message;
    EXPECT_NE(message.find("'fc2/output' of layer 'fc2'"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace frugal
