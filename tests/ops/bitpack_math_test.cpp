// The group-of-8 packing that the CUDA kernels run per thread (ops/bitpack_math.h), held against the CPU
// bitstream (ops/cpu/bitpack.h) byte for byte, for every width and counts that leave a partial group.
#include "ops/bitpack_math.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/rng.h"
#include "ops/cpu/bitpack.h"

namespace frugal {
namespace {

const int64_t kCounts[] = {1, 7, 8, 9, 13, 64, 4099};

// n random bytes, all 8 bits random, so bits above the width are exercised too.
std::vector<uint8_t> random_bytes(int64_t n, uint64_t step) {
  std::vector<float> u(static_cast<size_t>(n));
  rng_uniform(rng_key(31, RngStream::Test, step), u.data(), u.size(), 0.0f, 256.0f);
  std::vector<uint8_t> b(u.size());
  for (size_t i = 0; i < u.size(); ++i) b[i] = static_cast<uint8_t>(static_cast<int>(u[i]) & 0xFF);
  return b;
}

TEST(BitpackMath, GroupsPackToTheCpuBitstream) {
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t count : kCounts) {
      const std::vector<uint8_t> codes = random_bytes(count, bits * 100 + count);
      std::vector<uint8_t> cpu(packed_bytes(count, bits), 0xAB), groups(packed_bytes(count, bits) + 1, 0xCD);
      pack_codes(codes.data(), count, bits, cpu.data());
      for (int64_t g = 0; g < bitpack::group_count(count); ++g)
        bitpack::pack_group(codes.data(), count, g, bits, groups.data());
      EXPECT_EQ(groups.back(), 0xCD) << "a group wrote past packed_bytes, bits " << bits << " count " << count;
      groups.pop_back();
      EXPECT_EQ(groups, cpu) << "bits " << bits << " count " << count;
    }
}

TEST(BitpackMath, GroupsUnpackTheCpuBitstream) {
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t count : kCounts) {
      const std::vector<uint8_t> packed = random_bytes(static_cast<int64_t>(packed_bytes(count, bits)), bits + count);
      std::vector<uint8_t> cpu(count), groups(count + 1, 0xCD);
      unpack_codes(packed.data(), count, bits, cpu.data());
      for (int64_t g = 0; g < bitpack::group_count(count); ++g)
        bitpack::unpack_group(packed.data(), count, g, bits, groups.data());
      EXPECT_EQ(groups.back(), 0xCD);
      groups.pop_back();
      EXPECT_EQ(groups, cpu) << "bits " << bits << " count " << count;
    }
}

TEST(BitpackMath, TheLastGroupTakesOnlyTheBytesItsCodesNeed) {
  for (int bits = 1; bits <= 8; ++bits)
    for (int64_t count : kCounts) {
      const int64_t last = bitpack::group_count(count) - 1;
      EXPECT_EQ(static_cast<size_t>(last * bits + bitpack::group_bytes(bitpack::codes_in_group(count, last), bits)),
                packed_bytes(count, bits))
          << "bits " << bits << " count " << count;
    }
}

}  // namespace
}  // namespace frugal
