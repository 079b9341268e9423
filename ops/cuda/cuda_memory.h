// Where the CUDA backend's memory comes from, and how much of it there is: the device allocator every
// CUDA tensor and planned arena uses (counted by category, so that planned bytes can be held against
// measured ones), the pinned host allocator uploads read from, and the ledger of the runtime's own
// bytes (context, library handles and workspaces, scratch) with the driver's low-water mark of free
// memory. Only files under ops/cuda/ include this header.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/allocator.h"
#include "core/device.h"

namespace frugal::cuda {

// cudaMalloc / cudaFree, counted. The planners allocate their arena through it once, so a steady-state
// step performs no cudaMalloc (memory/static_planner.h); allocations() lets tests check that.
class CudaAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, const AllocTag& tag) override;
  void deallocate(void* ptr, size_t bytes) override;
  const char* name() const override { return "cuda"; }
  Device device() const override { return Device::CUDA; }
  // Fills the allocator's part of `stats`.
  void add_stats(DeviceMemoryStats& stats) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<void*, std::pair<size_t, MemoryCategory>> live_;
  size_t live_bytes_ = 0, peak_bytes_ = 0;
  uint64_t allocations_ = 0;
  size_t by_category_[kNumMemoryCategories] = {};
};

// Page-locked host memory (cudaHostAlloc): tensors from it are CPU tensors that cudaMemcpyAsync can
// read without a staging copy of its own, so an upload overlaps the compute.
class PinnedHostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, const AllocTag& tag) override;
  void deallocate(void* ptr, size_t bytes) override;
  const char* name() const override { return "cuda_pinned"; }
  Device device() const override { return Device::CPU; }
};

// The runtime's own device bytes, by name, and the driver's view of the device.
class RuntimeLedger {
 public:
  // Reads free/total from the driver and keeps the lowest free value seen.
  void sample();
  // Device memory the driver reports used right now (all processes).
  size_t used_now();
  void add(const std::string& what, size_t bytes);
  void* scratch(const char* what, size_t bytes);  // see runtime_scratch (cuda_runtime.h)
  void add_stats(DeviceMemoryStats& stats);

 private:
  std::mutex mutex_;
  std::map<std::string, size_t> parts_;
  std::map<std::string, std::pair<void*, size_t>> scratch_;
  size_t total_ = 0, lowest_free_ = 0;
  bool sampled_ = false;
};

}  // namespace frugal::cuda
