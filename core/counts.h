// Element and byte counts with every product checked. Sizes come from outside (configs, file headers,
// checkpoints), so a product of them can exceed 64 bits; a count that does not fit is a ShapeError
// saying what was being counted, never a wrapped number that allocates too little and writes past it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace frugal {

// The most elements one tensor or buffer may hold: 2^60, so that its size in bytes at 8 bytes an
// element (the widest dtype) still fits a signed 64-bit count, and sums of a few such sizes do too.
constexpr int64_t kMaxElements = int64_t{1} << 60;

// a * b for counts a, b >= 0. ShapeError "<what>: <a> x <b> elements exceed the limit of 2^60" when
// the product is larger than kMaxElements, or "<what>: negative count" when a or b is negative.
int64_t checked_elements(int64_t a, int64_t b, const char* what);

// The bytes of `count` elements of `element_bytes` each; ShapeError naming `what` when count is negative
// or the product exceeds kMaxElements * 8.
size_t checked_bytes(int64_t count, size_t element_bytes, const char* what);

}  // namespace frugal
