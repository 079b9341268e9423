#include "core/counts.h"

#include <string>

#include "core/error.h"

namespace frugal {

int64_t checked_elements(int64_t a, int64_t b, const char* what) {
  if (a < 0 || b < 0)
    throw ShapeError(std::string(what) + ": negative count (" + std::to_string(a) + " x " + std::to_string(b) + ")");
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product) || product > kMaxElements)
    throw ShapeError(std::string(what) + ": " + std::to_string(a) + " x " + std::to_string(b) +
                     " elements exceed the limit of 2^60");
  return product;
}

size_t checked_bytes(int64_t count, size_t element_bytes, const char* what) {
  constexpr size_t kMaxBytes = static_cast<size_t>(kMaxElements) * 8;
  if (count < 0) throw ShapeError(std::string(what) + ": negative element count " + std::to_string(count));
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(count), element_bytes, &bytes) || bytes > kMaxBytes)
    throw ShapeError(std::string(what) + ": " + std::to_string(count) + " elements of " +
                     std::to_string(element_bytes) + " bytes exceed the limit of 2^63 bytes");
  return bytes;
}

}  // namespace frugal
