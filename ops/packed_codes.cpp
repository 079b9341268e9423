#include "ops/packed_codes.h"

#include <string>

#include "core/error.h"

namespace frugal {

size_t packed_bytes(int64_t count, int bits) {
  FRUGAL_CHECK(bits >= 1 && bits <= 8, InternalError,
               "bit packing: bits must be in 1..8, got " + std::to_string(bits));
  FRUGAL_CHECK(count >= 0, InternalError, "bit packing: count must be >= 0, got " + std::to_string(count));
  return static_cast<size_t>((count * bits + 7) / 8);
}

}  // namespace frugal
