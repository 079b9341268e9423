#include "memory/step_description.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace frugal {

namespace {

std::string describe(const BufferSpec& b) {
  return "buffer " + std::to_string(b.id) + " ('" + b.owner + "')";
}

}  // namespace

void StepDescription::validate() const {
  const int32_t times = num_times();
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferSpec& b = buffers[i];
    FRUGAL_CHECK(b.id == static_cast<int32_t>(i), InternalError,
                 "step description: " + describe(b) + " is at index " + std::to_string(i) +
                     "; ids must be dense and equal to the index");
    FRUGAL_CHECK(b.first_use >= 0 && b.first_use <= b.last_use && b.last_use < times, InternalError,
                 "step description: " + describe(b) + " has lifetime [" + std::to_string(b.first_use) + ", " +
                     std::to_string(b.last_use) + "]; expected 0 <= first_use <= last_use < " +
                     std::to_string(times) + " (the schedule length)");
  }
}

size_t total_bytes(const CategoryBytes& bytes) {
  size_t sum = 0;
  for (size_t b : bytes) sum += b;
  return sum;
}

size_t aligned_bytes(size_t bytes) {
  return (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
}

std::vector<CategoryBytes> live_bytes_by_category(const StepDescription& step) {
  step.validate();
  // Difference array: +bytes at first_use, -bytes after last_use; the prefix sum is the live total.
  std::vector<CategoryBytes> delta(step.schedule.size() + 1, CategoryBytes{});
  for (const BufferSpec& b : step.buffers) {
    const int c = static_cast<int>(b.category);
    delta[b.first_use][c] += aligned_bytes(b.bytes);
    delta[b.last_use + 1][c] -= aligned_bytes(b.bytes);  // unsigned wrap-around cancels in the sum
  }
  std::vector<CategoryBytes> live(step.schedule.size(), CategoryBytes{});
  CategoryBytes running{};
  for (size_t t = 0; t < live.size(); ++t) {
    for (int c = 0; c < kNumMemoryCategories; ++c) running[c] += delta[t][c];
    live[t] = running;
  }
  return live;
}

int32_t peak_time(const std::vector<CategoryBytes>& timeline) {
  int32_t best = 0;
  size_t best_bytes = 0;
  for (size_t t = 0; t < timeline.size(); ++t) {
    const size_t bytes = total_bytes(timeline[t]);
    if (bytes > best_bytes) {
      best_bytes = bytes;
      best = static_cast<int32_t>(t);
    }
  }
  return best;
}

size_t lower_bound_bytes(const StepDescription& step) {
  const std::vector<CategoryBytes> live = live_bytes_by_category(step);
  return live.empty() ? 0 : total_bytes(live[peak_time(live)]);
}

std::vector<MemoryEvent> step_events(const StepDescription& step) {
  step.validate();
  std::vector<std::vector<int32_t>> starts(step.schedule.size()), ends(step.schedule.size());
  for (const BufferSpec& b : step.buffers) {
    starts[b.first_use].push_back(b.id);
    ends[b.last_use].push_back(b.id);
  }
  std::vector<MemoryEvent> events;
  events.reserve(2 * step.buffers.size());
  for (int32_t t = 0; t < step.num_times(); ++t) {
    for (int32_t id : starts[t]) events.push_back({t, id, true});
    for (int32_t id : ends[t]) events.push_back({t, id, false});
  }
  return events;
}

}  // namespace frugal
