// Helpers shared by the optimizer tests: parameters from literal values, gradient sequences, and an
// allocator that records what was allocated with which tag.
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/parameter.h"

namespace frugal::optim_test {

inline Parameter make_param(const std::string& name, const std::vector<float>& values) {
  Parameter p;
  p.name = name;
  p.value = Tensor::empty({static_cast<int64_t>(values.size())});
  std::memcpy(p.value.raw(), values.data(), p.value.nbytes());
  p.grad = Tensor::zeros(p.value.shape());
  return p;
}

inline std::vector<float> values_of(const Tensor& t) { return {t.f32(), t.f32() + t.numel()}; }

// A gradient that changes sign and size from step to step and element to element.
inline float gradient_at(int step, size_t i) {
  return static_cast<float>(std::sin(1.3 * static_cast<double>(i) + 0.7 * step) * (1.0 + 0.25 * step));
}

inline void set_gradients(std::vector<Parameter*> params, int step) {
  for (Parameter* p : params)
    for (int64_t i = 0; i < p->grad.numel(); ++i)
      p->grad.f32()[i] = gradient_at(step, static_cast<size_t>(i));
}

class RecordingAllocator : public Allocator {
 public:
  void* allocate(size_t bytes, const AllocTag& tag) override {
    allocations.emplace_back(tag.category, tag.owner);
    return cpu_.allocate(bytes, tag);
  }
  void deallocate(void* ptr, size_t bytes) override { cpu_.deallocate(ptr, bytes); }
  const char* name() const override { return "recording"; }

  std::vector<std::pair<MemoryCategory, std::string>> allocations;

 private:
  CpuAllocator cpu_;
};

}  // namespace frugal::optim_test
