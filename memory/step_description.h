// A training step described as buffers with sizes and lifetimes over the step's schedule. This is all
// the memory planners see: they know buffers and lifetimes, never layers.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/allocator.h"

namespace frugal {

// The buffer id of a role no buffer plays (e.g. a layer without workspace).
constexpr int32_t kNoBuffer = -1;

// One buffer of a training step. Times are indices into the step's schedule (0..num_steps-1),
// inclusive: the buffer is live from first_use to last_use. Persistent buffers (weights, gradients,
// optimizer state) span the whole step.
struct BufferSpec {
  int32_t id = 0;  // dense 0..n-1, equal to the buffer's index in StepDescription::buffers
  size_t bytes = 0;
  MemoryCategory category = MemoryCategory::Other;
  int32_t first_use = 0, last_use = 0;
  std::string owner;  // e.g. "layer1.0.conv1.weight" or "layer1.0.conv1/output"
  std::string layer;  // layer name, "" when none
};

// One point of the step's schedule; phases: data, forward, backward, optimizer.
struct SchedulePoint {
  std::string label;  // e.g. "conv1"
  std::string phase;  // e.g. "forward"
};

struct StepDescription {
  std::vector<BufferSpec> buffers;
  std::vector<SchedulePoint> schedule;  // size = number of time indices

  int32_t num_times() const { return static_cast<int32_t>(schedule.size()); }
  // InternalError naming the buffer when an id is not its index or a lifetime is outside the schedule.
  void validate() const;
};

// Bytes per memory category, indexed by static_cast<int>(MemoryCategory).
using CategoryBytes = std::array<size_t, kNumMemoryCategories>;
size_t total_bytes(const CategoryBytes& bytes);

size_t aligned_bytes(size_t bytes);  // rounded up to kTensorAlignment (64); 0 stays 0
// max over t of the sum of aligned bytes of buffers live at t: no placement can use less.
size_t lower_bound_bytes(const StepDescription& step);
// Aligned bytes live at each time index, per category (size = num_times()).
std::vector<CategoryBytes> live_bytes_by_category(const StepDescription& step);
// First time index whose live total is the largest; 0 for an empty schedule.
int32_t peak_time(const std::vector<CategoryBytes>& timeline);

// One acquire or release of a buffer at a schedule time.
struct MemoryEvent {
  int32_t time = 0;
  int32_t buffer_id = 0;
  bool is_alloc = false;  // true: acquire, false: release
};

// The order the runtime drives a planner in: at each time t, first acquire the buffers whose
// first_use is t, then release those whose last_use is t (each group by ascending id). Planners
// predict their peak by replaying exactly this order.
std::vector<MemoryEvent> step_events(const StepDescription& step);

}  // namespace frugal
