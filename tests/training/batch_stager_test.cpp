// On the CPU the batch stager is the loader itself: the same batches in the same order (also across
// epochs and when an epoch starts part-way), the loader's own buffers with no copy, no staging memory.
// Its device side runs in tests/cuda/training_cuda_test.cpp.
#include <gtest/gtest.h>

#include <cstring>

#include "core/allocator.h"
#include "datasets/dataset.h"
#include "training/batch_stager.h"

namespace frugal {
namespace {

std::unique_ptr<Dataset> synthetic(int64_t size) {
  DatasetOptions o;
  o.dataset = "synthetic";
  o.synthetic_shape = {1, 6, 6};
  o.synthetic_classes = 5;
  o.synthetic_size = size;
  o.seed = 7;
  return open_dataset(o, Split::Train);
}

LoaderOptions options(int prefetch) {
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.drop_last = false;
  lo.seed = 3;
  lo.prefetch = prefetch;
  return lo;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

class CpuBatchStager : public ::testing::TestWithParam<int> {};

TEST_P(CpuBatchStager, HandsOutTheLoadersBatchesInOrder) {
  auto data = synthetic(18);  // 4 full batches and one of 2
  Loader direct(*data, options(GetParam())), wrapped(*data, options(GetParam()));
  BatchStager stager(wrapped, Device::CPU);
  for (auto [epoch, skip] : {std::pair<int64_t, int64_t>{0, 0}, {1, 2}}) {
    direct.start_epoch(epoch, skip);
    stager.start_epoch(epoch, skip);
    Batch want, got;
    int64_t batches = 0;
    while (direct.next(want)) {
      ASSERT_TRUE(stager.next(got));
      EXPECT_EQ(got.images.device(), Device::CPU);
      EXPECT_EQ(got.size, want.size);
      EXPECT_TRUE(same_bytes(got.images, want.images)) << "epoch " << epoch << " batch " << batches;
      EXPECT_TRUE(same_bytes(got.labels, want.labels)) << "epoch " << epoch << " batch " << batches;
      ++batches;
    }
    EXPECT_FALSE(stager.next(got));
    EXPECT_EQ(batches, 5 - skip);
  }
  EXPECT_EQ(stager.device_bytes(), 0u);
  EXPECT_EQ(stager.pinned_bytes(), 0u);
}

// No staging copy on the CPU: what next() returns is the loader's own buffer (prefetch 0: its one slot,
// every batch), and handing batches out allocates nothing.
TEST_P(CpuBatchStager, CopiesNothing) {
  auto data = synthetic(16);
  Loader loader(*data, options(GetParam()));
  BatchStager stager(loader, Device::CPU);
  stager.start_epoch(0);
  Batch first, later;
  ASSERT_TRUE(stager.next(first));
  const void* slot = first.images.raw();
  const uint64_t allocations = default_cpu_allocator().allocation_count();
  int batches = 1;
  while (stager.next(later)) {
    if (GetParam() == 0) {
      EXPECT_EQ(later.images.raw(), slot) << "batch " << batches;
    }
    ++batches;
  }
  EXPECT_EQ(batches, 4);
  EXPECT_EQ(default_cpu_allocator().allocation_count(), allocations);
}

INSTANTIATE_TEST_SUITE_P(Prefetch, CpuBatchStager, ::testing::Values(0, 1));

}  // namespace
}  // namespace frugal
