#include "memory/block_cache.h"

#include <gtest/gtest.h>

namespace frugal {
namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * 1024;

TEST(BlockCache, SmallSizesRoundUpTo512Bytes) {
  EXPECT_EQ(pool_size_class(1), 512u);
  EXPECT_EQ(pool_size_class(512), 512u);
  EXPECT_EQ(pool_size_class(513), 1024u);
  EXPECT_EQ(pool_size_class(kMiB), kMiB);
}

TEST(BlockCache, LargeSizesRoundUpToAnEighthOfTheirPowerOfTwo) {
  EXPECT_EQ(pool_size_class(kMiB + 1), kMiB + 128 * kKiB);
  EXPECT_EQ(pool_size_class(3 * kMiB), 3 * kMiB);
  EXPECT_EQ(pool_size_class(5 * kMiB), 5 * kMiB);  // a multiple of 512 KiB
  EXPECT_EQ(pool_size_class(5 * kMiB + 1), 5 * kMiB + 512 * kKiB);
}

TEST(BlockCache, FreedBlockIsReusedWithoutANewSegment) {
  BlockCache cache;
  const PoolBlock a = cache.take(3000);
  cache.put_back(a);
  const PoolBlock b = cache.take(2900);  // same size class
  EXPECT_EQ(cache.num_segments(), 1);
  EXPECT_EQ(b.segment, a.segment);
  EXPECT_EQ(b.offset, a.offset);
}

TEST(BlockCache, BestFitTakesTheSmallestCachedBlockThatFits) {
  BlockCache cache;
  const PoolBlock big = cache.take(8 * kKiB), medium = cache.take(4 * kKiB), small = cache.take(kKiB);
  cache.put_back(big);
  cache.put_back(medium);
  cache.put_back(small);
  EXPECT_EQ(cache.take(3 * kKiB).segment, medium.segment);
  EXPECT_EQ(cache.num_segments(), 3);
}

TEST(BlockCache, SplitBlockRemainderServesTheNextRequest) {
  BlockCache cache;
  cache.put_back(cache.take(4 * kKiB));
  const PoolBlock first = cache.take(kKiB);
  const PoolBlock second = cache.take(3 * kKiB);
  EXPECT_EQ(cache.num_segments(), 1);
  EXPECT_EQ(first.bytes, kKiB);
  EXPECT_EQ(second.segment, first.segment);
  EXPECT_EQ(second.offset, kKiB);
}

TEST(BlockCache, LargeBlockSplitsOnlyWhenTheRemainderIsLarge) {
  BlockCache cache;
  cache.put_back(cache.take(4 * kMiB));
  const PoolBlock whole = cache.take(3 * kMiB);  // remainder 1 MiB: not worth a split
  EXPECT_EQ(whole.bytes, 4 * kMiB);
  cache.put_back(whole);
  const PoolBlock part = cache.take(2 * kMiB);  // remainder 2 MiB: split
  EXPECT_EQ(part.bytes, 2 * kMiB);
  EXPECT_EQ(cache.cached_bytes(), 2 * kMiB);
}

TEST(BlockCache, FreedNeighboursMergeBackIntoOneBlock) {
  BlockCache cache;
  cache.put_back(cache.take(6 * kKiB));
  const PoolBlock a = cache.take(2 * kKiB), b = cache.take(2 * kKiB), c = cache.take(2 * kKiB);
  cache.put_back(a);
  cache.put_back(c);
  cache.put_back(b);  // merges with both neighbours
  const PoolBlock whole = cache.take(6 * kKiB);
  EXPECT_EQ(cache.num_segments(), 1);
  EXPECT_EQ(whole.offset, 0u);
  EXPECT_EQ(whole.bytes, 6 * kKiB);
}

TEST(BlockCache, SmallAndLargeRequestsUseSeparatePools) {
  BlockCache cache;
  cache.put_back(cache.take(4 * kMiB));
  cache.take(kKiB);  // must not carve a sliver out of the large segment
  EXPECT_EQ(cache.num_segments(), 2);
  EXPECT_EQ(cache.total_bytes(), 4 * kMiB + kKiB);
}

}  // namespace
}  // namespace frugal
