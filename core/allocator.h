// The allocator interface every tensor buffer comes from. core only defines the interface and a plain
// aligned CPU allocator; the planners (naive, pool, static arena) live in memory/ and implement it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/device.h"

namespace frugal {

// What a byte is for. The profiler reports memory broken down by these.
enum class MemoryCategory : uint8_t {
  Weights,
  Gradients,
  OptimizerState,
  Activations,
  Stash,  // saved for backward
  Workspace,
  Data,
  Other,
};
constexpr int kNumMemoryCategories = 8;
const char* memory_category_name(MemoryCategory c);

// Attached to every allocation so the profiler can say whose bytes these are.
struct AllocTag {
  MemoryCategory category = MemoryCategory::Other;
  const char* owner = "";  // layer or parameter name; must outlive the allocation
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes, const AllocTag& tag) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual const char* name() const = 0;
  // Where the memory it hands out lives; tensors from it carry this device.
  virtual Device device() const { return Device::CPU; }
};

constexpr size_t kTensorAlignment = 64;  // one cache line; also what AVX-512 loads want

// Plain 64-byte aligned heap allocator. Counts its calls so tests can assert that a steady-state
// training step performs no heap allocation for tensors.
class CpuAllocator : public Allocator {
 public:
  void* allocate(size_t bytes, const AllocTag& tag) override;
  void deallocate(void* ptr, size_t bytes) override;
  const char* name() const override { return "cpu"; }

  uint64_t allocation_count() const { return allocations_.load(); }
  size_t live_bytes() const { return live_bytes_.load(); }

 private:
  std::atomic<uint64_t> allocations_{0};
  std::atomic<size_t> live_bytes_{0};
};

CpuAllocator& default_cpu_allocator();

}  // namespace frugal
