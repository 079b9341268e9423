#include "ops/cuda/cuda_memory.h"

#include <algorithm>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"

namespace frugal::cuda {

void* CudaAllocator::allocate(size_t bytes, const AllocTag& tag) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error so later calls are not blamed for it
    throw MemoryBudgetError("cudaMalloc of " + std::to_string(bytes) + " bytes for '" + tag.owner + "' (" +
                            memory_category_name(tag.category) + ") failed: the GPU is out of memory");
  }
  check(status, "cudaMalloc");
  // Counted in 64-byte units, as the memory plan counts buffers (memory/step_description.h), so that
  // planned and allocated bytes can be compared exactly.
  bytes = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  std::lock_guard<std::mutex> lock(mutex_);
  live_[p] = {bytes, tag.category};
  live_bytes_ += bytes;
  peak_bytes_ = std::max(peak_bytes_, live_bytes_);
  by_category_[static_cast<int>(tag.category)] += bytes;
  ++allocations_;
  return p;
}

void CudaAllocator::deallocate(void* ptr, size_t) {
  if (!ptr) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it != live_.end()) {
      live_bytes_ -= it->second.first;
      by_category_[static_cast<int>(it->second.second)] -= it->second.first;
      live_.erase(it);
    }
  }
  cudaFree(ptr);  // no throw: this runs from destructors
}

void CudaAllocator::add_stats(DeviceMemoryStats& stats) const {
  std::lock_guard<std::mutex> lock(mutex_);
  stats.allocated_bytes = live_bytes_;
  stats.allocated_peak_bytes = peak_bytes_;
  stats.allocations = allocations_;
  stats.allocated_by_category.assign(by_category_, by_category_ + kNumMemoryCategories);
}

void* PinnedHostAllocator::allocate(size_t bytes, const AllocTag& tag) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t status = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw MemoryBudgetError("cudaHostAlloc of " + std::to_string(bytes) + " pinned host bytes for '" + tag.owner +
                            "' failed: " + cudaGetErrorString(status));
  }
  return p;
}

void PinnedHostAllocator::deallocate(void* ptr, size_t) {
  if (ptr) cudaFreeHost(ptr);
}

void RuntimeLedger::sample() {
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) return;
  std::lock_guard<std::mutex> lock(mutex_);
  total_ = total;
  lowest_free_ = sampled_ ? std::min(lowest_free_, free) : free;
  sampled_ = true;
}

size_t RuntimeLedger::used_now() {
  size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return total - free;
}

void RuntimeLedger::add(const std::string& what, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  parts_[what] += bytes;
}

void* RuntimeLedger::scratch(const char* what, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& [ptr, size] = scratch_[what];
  if (ptr && size >= bytes) return ptr;
  if (ptr) cudaFree(ptr);  // synchronises the device: nothing queued still reads the old buffer
  ptr = nullptr;
  size = 0;
  if (bytes == 0) return nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();
    ptr = nullptr;
    throw MemoryBudgetError(std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes of runtime scratch '" +
                            what + "' failed: " + cudaGetErrorString(status));
  }
  size = bytes;
  parts_[what] = bytes;
  return ptr;
}

void RuntimeLedger::add_stats(DeviceMemoryStats& stats) {
  sample();
  std::lock_guard<std::mutex> lock(mutex_);
  stats.runtime_parts.assign(parts_.begin(), parts_.end());
  stats.scratch_bytes = 0;
  for (const auto& entry : scratch_) stats.scratch_bytes += entry.second.second;
  stats.total_bytes = total_;
  stats.peak_used_bytes = sampled_ ? total_ - lowest_free_ : 0;
}

}  // namespace frugal::cuda
