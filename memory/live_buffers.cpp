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

void* LiveBuffers::system_alloc(size_t bytes, int32_t for_id) const {
  if (bytes == 0) return zero_byte_buffer;
  if (device_) return device_->allocate(aligned_bytes(bytes), {MemoryCategory::Workspace, planner_name_});
  void* p = std::aligned_alloc(kTensorAlignment, aligned_bytes(bytes));
  if (p) return p;
  // Name the layer whose buffer asked (or the largest one of the step), the place to make smaller.
  const BufferSpec* culprit = nullptr;
  if (for_id >= 0 && for_id < static_cast<int32_t>(step_.buffers.size())) culprit = &step_.buffers[for_id];
  for (const BufferSpec& b : step_.buffers)
    if (for_id < 0 && (!culprit || b.bytes > culprit->bytes)) culprit = &b;
  std::string what = for_id >= 0 ? "" : " for the step's buffers";
  if (culprit)
    what += std::string(for_id >= 0 ? " for " : " (the largest: ") + memory_category_name(culprit->category) +
            " '" + culprit->owner + "'" + (culprit->layer.empty() ? "" : " of layer '" + culprit->layer + "'") +
            ", " + std::to_string(culprit->bytes) + " bytes" + (for_id >= 0 ? "" : ")");
  throw MemoryBudgetError(std::string("planner '") + planner_name_ + "': out of memory: the system refused " +
                          std::to_string(bytes) + " bytes" + what + "; lower data.batch_size or the model's size");
}

void LiveBuffers::system_free(void* ptr, size_t bytes) const {
  if (ptr == zero_byte_buffer || ptr == nullptr) return;
  if (device_)
    device_->deallocate(ptr, aligned_bytes(bytes));
  else
    std::free(ptr);
}

}  // namespace frugal
