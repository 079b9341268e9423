#include "training/arena_sharing.h"

#include <string>

#include "core/error.h"

namespace frugal {

void* ArenaLender::allocate(size_t bytes, const AllocTag& tag) {
  FRUGAL_CHECK(block_ == nullptr, InternalError,
               "training arena: a second block of " + std::to_string(bytes) + " bytes asked for while one is held");
  block_ = source_.allocate(bytes, tag);
  block_bytes_ = bytes;
  ++generation_;
  return block_;
}

void ArenaLender::deallocate(void* ptr, size_t bytes) {
  if (ptr == block_) {
    block_ = nullptr;
    block_bytes_ = 0;
    ++generation_;
  }
  source_.deallocate(ptr, bytes);
}

void* ArenaBorrower::allocate(size_t bytes, const AllocTag&) {
  FRUGAL_CHECK(lender_.block() != nullptr && bytes <= lender_.block_bytes(), InternalError,
               "evaluation arena of " + std::to_string(bytes) + " bytes does not fit in the training arena of " +
                   std::to_string(lender_.block_bytes()) + " bytes");
  return lender_.block();
}

}  // namespace frugal
