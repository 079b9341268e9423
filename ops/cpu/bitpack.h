// Dense bit packing of small integer codes (what low-bit backward modes stash). The packed form is a
// little-endian bitstream: element i occupies bits [i*bits, (i+1)*bits) of the stream, where bit k of
// the stream is bit (k % 8) of byte k / 8. Padding bits in the last byte are zero. Any bits in 1..8.
//
// Every 8 consecutive codes fill exactly `bits` whole bytes, so work is split into groups of 8 codes
// and partitioned statically over OpenMP threads: the output never depends on the thread count.
#pragma once
#include "ops/packed_codes.h"
#include <cstddef>
#include <cstdint>

namespace frugal {

// codes[count] (only the low `bits` bits of each code are stored) -> packed[packed_bytes(count, bits)].
void pack_codes(const uint8_t* codes, int64_t count, int bits, uint8_t* packed);

// packed[packed_bytes(count, bits)] -> codes[count], each in [0, 2^bits).
void unpack_codes(const uint8_t* packed, int64_t count, int bits, uint8_t* codes);

}  // namespace frugal
