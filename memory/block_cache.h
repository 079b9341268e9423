// The bookkeeping of a caching allocator in the style of PyTorch's CUDA caching allocator, without
// any real memory: segments (one system allocation each) are split into blocks; freed blocks stay
// cached, merge with free neighbours in their segment, and serve later requests by best fit.
// PoolPlanner maps segment indices to real memory; the same class replays a step to predict the peak.
//
// Differences from PyTorch, chosen because frugal cares about peak bytes rather than call rate: a new
// segment is exactly the rounded request (no 2 MiB / 20 MiB segments), and nothing is ever returned to
// the system. Bookkeeping lives in sorted vectors, so a step that repeats the previous one's requests
// performs no heap allocation at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace frugal {

constexpr size_t kPoolSmallGranularity = 512;        // small requests round up to multiples of this
constexpr size_t kPoolSmallLimit = size_t{1} << 20;  // requests up to 1 MiB use the small pool
constexpr size_t kPoolLargeDivisions = 8;            // large requests: 8 classes per power of two

// The size class of a request: small ones round up to 512 B; large ones to a multiple of 1/8 of the
// power of two below them (at most 12.5% waste). 0 stays 0.
size_t pool_size_class(size_t bytes);

struct PoolBlock {
  int32_t segment = -1;
  size_t offset = 0;  // bytes from the segment's start; a multiple of 512
  size_t bytes = 0;   // the block's size, >= the request's size class
};

class BlockCache {
 public:
  // A block of at least pool_size_class(bytes) (bytes > 0): the best-fitting cached block (split when
  // the remainder is worth keeping), else a new segment appended at index num_segments().
  PoolBlock take(size_t bytes);
  // Returns a block from take() to the cache, merged with free neighbours.
  void put_back(const PoolBlock& block);

  int32_t num_segments() const { return static_cast<int32_t>(segments_.size()); }
  size_t segment_bytes(int32_t segment) const { return segments_[segment].bytes; }
  size_t total_bytes() const { return total_bytes_; }
  size_t cached_bytes() const;  // bytes in free blocks

 private:
  struct Block {
    size_t offset, bytes;
    bool free;
  };
  struct Segment {
    size_t bytes;
    bool small;
    std::vector<Block> blocks;  // sorted by offset, covering the segment
  };
  // Free blocks of one pool ordered by (bytes, segment, offset): the first one not smaller than a
  // request is the best fit, ties going to the oldest segment and lowest offset.
  struct FreeRef {
    size_t bytes;
    int32_t segment;
    size_t offset;
    bool operator<(const FreeRef& o) const;
  };

  std::vector<FreeRef>& free_list(bool small) { return small ? free_small_ : free_large_; }
  void add_free(bool small, const FreeRef& ref);
  void remove_free(bool small, const FreeRef& ref);
  static size_t block_index(const Segment& seg, size_t offset);

  std::vector<Segment> segments_;
  std::vector<FreeRef> free_small_, free_large_;
  size_t total_bytes_ = 0;
};

}  // namespace frugal
