#include "memory/block_cache.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "core/error.h"

namespace frugal {

namespace {

size_t round_up(size_t bytes, size_t multiple) { return (bytes + multiple - 1) / multiple * multiple; }

// PyTorch's rule: small blocks split when a minimal block remains; large blocks only when the
// remainder is itself large, so large segments do not fill up with small slivers.
bool worth_splitting(bool small, size_t remainder) {
  return small ? remainder >= kPoolSmallGranularity : remainder > kPoolSmallLimit;
}

}  // namespace

size_t pool_size_class(size_t bytes) {
  if (bytes <= kPoolSmallLimit) return round_up(bytes, kPoolSmallGranularity);
  size_t power = kPoolSmallLimit;
  while (power * 2 <= bytes) power *= 2;
  return round_up(bytes, power / kPoolLargeDivisions);
}

bool BlockCache::FreeRef::operator<(const FreeRef& o) const {
  return std::tie(bytes, segment, offset) < std::tie(o.bytes, o.segment, o.offset);
}

void BlockCache::add_free(bool small, const FreeRef& ref) {
  std::vector<FreeRef>& list = free_list(small);
  list.insert(std::lower_bound(list.begin(), list.end(), ref), ref);
}

void BlockCache::remove_free(bool small, const FreeRef& ref) {
  std::vector<FreeRef>& list = free_list(small);
  auto it = std::lower_bound(list.begin(), list.end(), ref);
  FRUGAL_CHECK(it != list.end() && !(ref < *it), InternalError,
               "pool: free block at segment " + std::to_string(ref.segment) + " offset " +
                   std::to_string(ref.offset) + " missing from the free list");
  list.erase(it);
}

size_t BlockCache::block_index(const Segment& seg, size_t offset) {
  auto it = std::lower_bound(seg.blocks.begin(), seg.blocks.end(), offset,
                             [](const Block& b, size_t off) { return b.offset < off; });
  FRUGAL_CHECK(it != seg.blocks.end() && it->offset == offset, InternalError,
               "pool: no block starts at offset " + std::to_string(offset));
  return static_cast<size_t>(it - seg.blocks.begin());
}

PoolBlock BlockCache::take(size_t bytes) {
  FRUGAL_CHECK(bytes > 0, InternalError, "pool: take() of 0 bytes; zero-byte buffers hold no block");
  const size_t size = pool_size_class(bytes);
  const bool small = size <= kPoolSmallLimit;
  std::vector<FreeRef>& list = free_list(small);
  auto it = std::lower_bound(list.begin(), list.end(), FreeRef{size, -1, 0});
  if (it == list.end()) {
    Segment seg{size, small, {}};
    seg.blocks.push_back({0, size, false});
    segments_.push_back(std::move(seg));
    total_bytes_ += size;
    return {num_segments() - 1, 0, size};
  }
  const FreeRef ref = *it;
  list.erase(it);
  Segment& seg = segments_[ref.segment];
  const size_t index = block_index(seg, ref.offset);
  Block& block = seg.blocks[index];
  block.free = false;
  const size_t remainder = block.bytes - size;
  if (worth_splitting(small, remainder)) {
    block.bytes = size;
    const Block rest{ref.offset + size, remainder, true};
    seg.blocks.insert(seg.blocks.begin() + static_cast<std::ptrdiff_t>(index) + 1, rest);
    add_free(small, {rest.bytes, ref.segment, rest.offset});
  }
  return {ref.segment, ref.offset, seg.blocks[index].bytes};
}

void BlockCache::put_back(const PoolBlock& taken) {
  FRUGAL_CHECK(taken.segment >= 0 && taken.segment < num_segments(), InternalError,
               "pool: put_back of a block from unknown segment " + std::to_string(taken.segment));
  Segment& seg = segments_[taken.segment];
  size_t index = block_index(seg, taken.offset);
  FRUGAL_CHECK(!seg.blocks[index].free, InternalError,
               "pool: block at segment " + std::to_string(taken.segment) + " offset " +
                   std::to_string(taken.offset) + " returned twice");
  seg.blocks[index].free = true;
  // Merge with the free neighbour after, then before, so the segment never holds two adjacent free blocks.
  if (index + 1 < seg.blocks.size() && seg.blocks[index + 1].free) {
    const Block next = seg.blocks[index + 1];
    remove_free(seg.small, {next.bytes, taken.segment, next.offset});
    seg.blocks[index].bytes += next.bytes;
    seg.blocks.erase(seg.blocks.begin() + static_cast<std::ptrdiff_t>(index) + 1);
  }
  if (index > 0 && seg.blocks[index - 1].free) {
    const Block prev = seg.blocks[index - 1];
    remove_free(seg.small, {prev.bytes, taken.segment, prev.offset});
    seg.blocks[index - 1].bytes += seg.blocks[index].bytes;
    seg.blocks.erase(seg.blocks.begin() + static_cast<std::ptrdiff_t>(index));
    --index;
  }
  const Block& merged = seg.blocks[index];
  add_free(seg.small, {merged.bytes, taken.segment, merged.offset});
}

size_t BlockCache::cached_bytes() const {
  size_t sum = 0;
  for (const FreeRef& r : free_small_) sum += r.bytes;
  for (const FreeRef& r : free_large_) sum += r.bytes;
  return sum;
}

}  // namespace frugal
