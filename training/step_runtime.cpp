#include "training/step_runtime.h"

namespace frugal {

StepRuntime::StepRuntime(const std::string& planner_name, Device device)
    : device_(device),
      planner_(make_planner(planner_name, device == Device::CPU ? nullptr : &device_runtime(device).allocator())) {}

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
