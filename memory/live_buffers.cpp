#include "memory/live_buffers.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace frugal {

namespace {

alignas(kTensorAlignment) unsigned char zero_byte_buffer[kTensorAlignment];

}  // namespace

void LiveBuffers::reset(const StepDescription& step) {
  FRUGAL_CHECK(num_live_ == 0, InternalError,
               std::string("planner '") + planner_name_ + "': plan() called while " +
                   std::to_string(num_live_) + " buffer(s) of the previous plan are still live");
  step.validate();
  step_ = step;
  live_.assign(step.buffers.size(), 0);
  planned_ = true;
}

void LiveBuffers::check_known(int32_t id, const char* action) const {
  FRUGAL_CHECK(planned_, InternalError,
               std::string("planner '") + planner_name_ + "': " + action + "(" + std::to_string(id) +
                   ") before plan()");
  FRUGAL_CHECK(id >= 0 && id < static_cast<int32_t>(live_.size()), InternalError,
               std::string("planner '") + planner_name_ + "': " + action + " of unknown buffer id " +
                   std::to_string(id) + "; the plan has " + std::to_string(live_.size()) + " buffers");
}

void LiveBuffers::mark_acquired(int32_t id) {
  check_known(id, "acquire");
  FRUGAL_CHECK(!live_[id], InternalError,
               std::string("planner '") + planner_name_ + "': buffer " + std::to_string(id) + " ('" +
                   step_.buffers[id].owner + "') acquired while already live");
  live_[id] = 1;
  ++num_live_;
}

void LiveBuffers::mark_released(int32_t id) {
  check_known(id, "release");
  FRUGAL_CHECK(live_[id], InternalError,
               std::string("planner '") + planner_name_ + "': buffer " + std::to_string(id) + " ('" +
                   step_.buffers[id].owner + "') released but it is not live");
  live_[id] = 0;
  --num_live_;
}

void* LiveBuffers::system_alloc(size_t bytes) const {
  if (bytes == 0) return zero_byte_buffer;
  if (device_) return device_->allocate(aligned_bytes(bytes), {MemoryCategory::Workspace, planner_name_});
  void* p = std::aligned_alloc(kTensorAlignment, aligned_bytes(bytes));
  FRUGAL_CHECK(
      p != nullptr, MemoryBudgetError,
      std::string("planner '") + planner_name_ + "': the system refused " + std::to_string(bytes) + " bytes");
  return p;
}

void LiveBuffers::system_free(void* ptr, size_t bytes) const {
  if (ptr == zero_byte_buffer || ptr == nullptr) return;
  if (device_)
    device_->deallocate(ptr, aligned_bytes(bytes));
  else
    std::free(ptr);
}

}  // namespace frugal
