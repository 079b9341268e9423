#include "training/step_runtime.h"

namespace frugal {

namespace {

Allocator* planner_memory(Device device, Allocator* memory) {
  if (memory) return memory;
  return device == Device::CPU ? nullptr : &device_runtime(device).allocator();
}

}  // namespace

StepRuntime::StepRuntime(const std::string& planner_name, Device device, Allocator* memory)
    : device_(device),
      planner_name_(planner_name),
      memory_(memory),
      planner_(make_planner(planner_name, planner_memory(device, memory))) {}

void StepRuntime::reset() {
  planner_ = make_planner(planner_name_, planner_memory(device_, memory_));
  reserved_ = false;
}

void StepRuntime::reserve(const StepDescription& step, const std::vector<Shape>& shapes,
                          const std::vector<DType>& dtypes) {
  planner_->plan(step);
  profile_.reset(step);
  tensors_.clear();
  for (size_t id = 0; id < step.buffers.size(); ++id)
    tensors_.push_back(Tensor::wrap(nullptr, shapes[id], dtypes[id], device_));
  const int32_t T = step.num_times();
  acquire_at_.assign(T, {});
  release_at_.assign(T, {});
  for (const BufferSpec& s : step.buffers) {
    acquire_at_[s.first_use].push_back(s.id);
    release_at_[s.last_use].push_back(s.id);
  }
  reserved_ = true;
}

void StepRuntime::enter(int32_t t) {
  for (int32_t id : acquire_at_[t]) {
    tensors_[id].storage()->rebind(planner_->acquire(id));
    profile_.record_acquire(id, t);
  }
}

void StepRuntime::leave(int32_t t) {
  for (int32_t id : release_at_[t]) {
    planner_->release(id);
    profile_.record_release(id, t);
    tensors_[id].storage()->rebind(nullptr);
  }
}

}  // namespace frugal
