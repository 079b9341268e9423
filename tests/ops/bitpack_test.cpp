// Bit packing: sizes, the exact little-endian bitstream layout (against a bit-by-bit reference),
// round trips for every width and odd counts, and independence from the thread count.
#include "ops/cpu/bitpack.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace frugal {
namespace {

// n random bytes (all 8 bits random, so high bits above `bits` are exercised too).
std::vector<uint8_t> random_bytes(int64_t n, uint64_t step) {
  std::vector<float> u(static_cast<size_t>(n));
  rng_uniform(rng_key(77, RngStream::Test, step), u.data(), u.size(), 0.0f, 256.0f);
  std::vector<uint8_t> b(u.size());
  for (size_t i = 0; i < u.size(); ++i) b[i] = static_cast<uint8_t>(static_cast<int>(u[i]) & 0xFF);
  return b;
}

std::vector<uint8_t> masked(std::vector<uint8_t> codes, int bits) {
  for (auto& c : codes) c = static_cast<uint8_t>(c & ((1u << bits) - 1));
  return codes;
}

// Element i's bit k goes to stream bit i*bits + k, stream bit s being bit s%8 of byte s/8.
std::vector<uint8_t> reference_pack(const std::vector<uint8_t>& codes, int bits) {
  std::vector<uint8_t> out((codes.size() * bits + 7) / 8, 0);
  for (size_t i = 0; i < codes.size(); ++i)
    for (int k = 0; k < bits; ++k)
      if (codes[i] >> k & 1) {
        const size_t s = i * bits + k;
        out[s / 8] = static_cast<uint8_t>(out[s / 8] | (1u << (s % 8)));
      }
  return out;
}

std::vector<uint8_t> pack(const std::vector<uint8_t>& codes, int bits) {
  const int64_t n = static_cast<int64_t>(codes.size());
  std::vector<uint8_t> packed(packed_bytes(n, bits) + 1, 0xAB);  // one guard byte past the end
  pack_codes(codes.data(), n, bits, packed.data());
  EXPECT_EQ(packed.back(), 0xAB) << "pack wrote past packed_bytes (bits=" << bits << ", n=" << n << ")";
  packed.pop_back();
  return packed;
}

const std::vector<int64_t> kCounts = {0, 1, 3, 7, 8, 9, 13, 63, 65, 1001, 200003};

TEST(Bitpack, PackedBytesIsCeilingOfCountTimesBitsOverEight) {
  EXPECT_EQ(packed_bytes(0, 3), 0u);
  EXPECT_EQ(packed_bytes(1, 3), 1u);
  EXPECT_EQ(packed_bytes(3, 3), 2u);
  EXPECT_EQ(packed_bytes(8, 3), 3u);
  EXPECT_EQ(packed_bytes(9, 3), 4u);
  EXPECT_EQ(packed_bytes(7, 1), 1u);
  EXPECT_EQ(packed_bytes(9, 1), 2u);
  EXPECT_EQ(packed_bytes(5, 4), 3u);
  EXPECT_EQ(packed_bytes(17, 8), 17u);
  EXPECT_EQ(packed_bytes(1000001, 5), 625001u);
}

TEST(Bitpack, KnownThreeAndOneBitLayouts) {
  // 3 bits: 1,2,...,7,0 -> 0b000'111'110'101'100'011'010'001 little-endian.
  EXPECT_EQ(pack({1, 2, 3, 4, 5, 6, 7, 0}, 3), (std::vector<uint8_t>{0xD1, 0x58, 0x1F}));
  // 1 bit: element 0 is the least significant bit of byte 0; the 9th element starts byte 1.
  EXPECT_EQ(pack({1, 0, 1, 1, 0, 0, 0, 1, 1}, 1), (std::vector<uint8_t>{0x8D, 0x01}));
}

TEST(Bitpack, LayoutMatchesBitByBitReferenceForEveryWidth) {
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t n : kCounts) {
      const auto codes = masked(random_bytes(n, 10 * bits + n), bits);
      EXPECT_EQ(pack(codes, bits), reference_pack(codes, bits)) << "bits=" << bits << " n=" << n;
    }
}

TEST(Bitpack, RoundTripsForEveryWidthAndOddCounts) {
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t n : kCounts) {
      const auto codes = masked(random_bytes(n, 1000 + 10 * bits + n), bits);
      const auto packed = pack(codes, bits);
      std::vector<uint8_t> back(static_cast<size_t>(n) + 1, 0xCD);
      unpack_codes(packed.data(), n, bits, back.data());
      EXPECT_EQ(back.back(), 0xCD) << "unpack wrote past count (bits=" << bits << ", n=" << n << ")";
      back.pop_back();
      EXPECT_EQ(back, codes) << "bits=" << bits << " n=" << n;
    }
}

TEST(Bitpack, BitsAboveTheWidthAreIgnoredAndPaddingIsZero) {
  for (int bits = 1; bits <= 7; ++bits) {
    const auto raw = random_bytes(13, 3000 + bits);
    const auto packed = pack(raw, bits);
    EXPECT_EQ(packed, pack(masked(raw, bits), bits)) << "bits=" << bits;
    const int used_in_last = static_cast<int>((13 * bits) % 8);
    if (used_in_last != 0) {
      EXPECT_EQ(packed.back() >> used_in_last, 0) << "padding bits set, bits=" << bits;
    }
  }
}

TEST(Bitpack, OutputDoesNotDependOnThreadCount) {
  const int64_t n = 1 << 20;
  const int saved = omp_get_max_threads();
  for (int bits : {1, 3, 4, 7}) {
    const auto codes = masked(random_bytes(n, 4000 + bits), bits);
    omp_set_num_threads(1);
    const auto one = pack(codes, bits);
    omp_set_num_threads(4);
    const auto four = pack(codes, bits);
    std::vector<uint8_t> back(n);
    unpack_codes(four.data(), n, bits, back.data());
    EXPECT_EQ(one, four) << "bits=" << bits;
    EXPECT_EQ(back, codes) << "bits=" << bits;
  }
  omp_set_num_threads(saved);
}

TEST(Bitpack, WidthsOutsideOneToEightAreRejected) {
  uint8_t c = 0, p = 0;
  EXPECT_THROW(packed_bytes(4, 0), InternalError);
  EXPECT_THROW(packed_bytes(4, 9), InternalError);
  EXPECT_THROW(pack_codes(&c, 1, 0, &p), InternalError);
  EXPECT_THROW(unpack_codes(&p, 1, 9, &c), InternalError);
}

}  // namespace
}  // namespace frugal
