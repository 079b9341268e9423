#include "core/allocator.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "core/error.h"

namespace frugal {

const char* memory_category_name(MemoryCategory c) {
  switch (c) {
    case MemoryCategory::Weights: return "weights";
    case MemoryCategory::Gradients: return "gradients";
    case MemoryCategory::OptimizerState: return "optimizer_state";
    case MemoryCategory::Activations: return "activations";
    case MemoryCategory::Stash: return "stash";
    case MemoryCategory::Workspace: return "workspace";
    case MemoryCategory::Data: return "data";
    case MemoryCategory::Other: return "other";
  }
  return "other";
}

void* CpuAllocator::allocate(size_t bytes, const AllocTag& tag) {
  // A request within one alignment of SIZE_MAX would wrap around to a small allocation when rounded up.
  void* p = nullptr;
  if (bytes <= SIZE_MAX - kTensorAlignment) {
    const size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    p = std::aligned_alloc(kTensorAlignment, std::max(rounded, kTensorAlignment));
  }
  if (!p)
    throw MemoryBudgetError("out of memory allocating " + std::to_string(bytes) + " bytes for " +
                            memory_category_name(tag.category) +
                            (tag.owner[0] ? std::string(" of '") + tag.owner + "'" : std::string(" (no owner named)")));
  allocations_.fetch_add(1);
  live_bytes_.fetch_add(bytes);
  return p;
}

void CpuAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  std::free(ptr);
  live_bytes_.fetch_sub(bytes);
}

CpuAllocator& default_cpu_allocator() {
  static CpuAllocator instance;
  return instance;
}

}  // namespace frugal
