// Records what really happened to memory during a step: every acquire and release with its schedule
// time, turned into live bytes per category over time. The planned timeline comes from the step
// description (live_bytes_by_category); this one comes from what the executor actually did.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "memory/step_description.h"

namespace frugal {

class MemoryProfiler {
 public:
  MemoryProfiler() = default;
  explicit MemoryProfiler(const StepDescription& step) { reset(step); }

  // Adopts a (new) description and forgets all events.
  void reset(const StepDescription& step);
  // Forgets the events of the previous step. Keeps capacity: recording a step allocates nothing.
  void begin_step();

  // InternalError on unknown ids, a time outside the schedule, double acquire or stray release.
  void record_acquire(int32_t id, int32_t time);
  void record_release(int32_t id, int32_t time);

  const std::vector<MemoryEvent>& events() const { return events_; }
  // Aligned bytes live at each time: a buffer counts from its acquire time through its release time
  // (to the end of the schedule when never released). Size = schedule length.
  std::vector<CategoryBytes> timeline() const;
  int32_t peak_time() const;
  size_t peak_bytes() const;
  CategoryBytes by_category_at_peak() const;
  // Ids whose recorded acquire or release time differs from the description's lifetime: the plan
  // assumed something the executor did not do.
  std::vector<int32_t> lifetime_mismatches() const;

 private:
  struct Recorded {
    int32_t acquired = -1, released = -1;  // times; -1 when not recorded
  };
  void check(int32_t id, int32_t time, const char* action) const;

  std::vector<BufferSpec> buffers_;  // from the description
  int32_t num_times_ = 0;
  std::vector<Recorded> recorded_;  // by id, for this step
  std::vector<MemoryEvent> events_;
};

// The process's peak resident set (VmHWM in /proc/self/status) in bytes; 0 where unavailable.
size_t peak_rss_bytes();

}  // namespace frugal
