#include "memory/profiler.h"

#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace frugal {

void MemoryProfiler::reset(const StepDescription& step) {
  step.validate();
  buffers_ = step.buffers;
  num_times_ = step.num_times();
  recorded_.assign(buffers_.size(), Recorded{});
  events_.clear();
  events_.reserve(2 * buffers_.size());
}

void MemoryProfiler::begin_step() {
  recorded_.assign(buffers_.size(), Recorded{});
  events_.clear();
}

void MemoryProfiler::check(int32_t id, int32_t time, const char* action) const {
  FRUGAL_CHECK(id >= 0 && id < static_cast<int32_t>(buffers_.size()), InternalError,
               std::string("memory profiler: ") + action + " of unknown buffer id " + std::to_string(id) +
                   "; the description has " + std::to_string(buffers_.size()) + " buffers");
  FRUGAL_CHECK(time >= 0 && time < num_times_, InternalError,
               std::string("memory profiler: ") + action + " of buffer " + std::to_string(id) + " ('" +
                   buffers_[id].owner + "') at time " + std::to_string(time) + "; the schedule has " +
                   std::to_string(num_times_) + " points");
}

void MemoryProfiler::record_acquire(int32_t id, int32_t time) {
  check(id, time, "acquire");
  FRUGAL_CHECK(recorded_[id].acquired < 0, InternalError,
               "memory profiler: buffer " + std::to_string(id) + " ('" + buffers_[id].owner +
                   "') acquired twice in one step");
  recorded_[id].acquired = time;
  events_.push_back({time, id, true});
}

void MemoryProfiler::record_release(int32_t id, int32_t time) {
  check(id, time, "release");
  FRUGAL_CHECK(recorded_[id].acquired >= 0 && recorded_[id].released < 0 && time >= recorded_[id].acquired,
               InternalError,
               "memory profiler: buffer " + std::to_string(id) + " ('" + buffers_[id].owner +
                   "') released at time " + std::to_string(time) + " without a live acquire before it");
  recorded_[id].released = time;
  events_.push_back({time, id, false});
}

std::vector<CategoryBytes> MemoryProfiler::timeline() const {
  // Difference array over times, as in live_bytes_by_category.
  std::vector<CategoryBytes> delta(num_times_ + 1, CategoryBytes{});
  for (size_t id = 0; id < recorded_.size(); ++id) {
    const Recorded& r = recorded_[id];
    if (r.acquired < 0) continue;
    const int c = static_cast<int>(buffers_[id].category);
    const int32_t end = r.released >= 0 ? r.released + 1 : num_times_;
    delta[r.acquired][c] += aligned_bytes(buffers_[id].bytes);
    delta[end][c] -= aligned_bytes(buffers_[id].bytes);
  }
  std::vector<CategoryBytes> live(num_times_, CategoryBytes{});
  CategoryBytes running{};
  for (int32_t t = 0; t < num_times_; ++t) {
    for (int c = 0; c < kNumMemoryCategories; ++c) running[c] += delta[t][c];
    live[t] = running;
  }
  return live;
}

int32_t MemoryProfiler::peak_time() const { return frugal::peak_time(timeline()); }

size_t MemoryProfiler::peak_bytes() const {
  const std::vector<CategoryBytes> live = timeline();
  return live.empty() ? 0 : total_bytes(live[frugal::peak_time(live)]);
}

CategoryBytes MemoryProfiler::by_category_at_peak() const {
  const std::vector<CategoryBytes> live = timeline();
  return live.empty() ? CategoryBytes{} : live[frugal::peak_time(live)];
}

std::vector<int32_t> MemoryProfiler::lifetime_mismatches() const {
  std::vector<int32_t> ids;
  for (size_t id = 0; id < recorded_.size(); ++id)
    if (recorded_[id].acquired != buffers_[id].first_use || recorded_[id].released != buffers_[id].last_use)
      ids.push_back(static_cast<int32_t>(id));
  return ids;
}

size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    size_t kib = 0;
    fields >> kib;  // the kernel reports kB (KiB)
    return kib * 1024;
  }
  return 0;
}

}  // namespace frugal
