#include "datasets/loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

// Sample i: label i, value j of the image is (1000 i + j + 1) * 1e-6, so every value is distinct
// and nonzero; a batch's labels say which samples it holds.
class CodedDataset : public Dataset {
 public:
  explicit CodedDataset(int64_t n, Shape chw = {2, 5, 6}, int64_t fail_at = -1)
      : n_(n), chw_(chw), fail_at_(fail_at) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return chw_; }
  int64_t num_classes() const override { return n_; }
  void get(int64_t index, float* image, int32_t* label) const override {
    if (index == fail_at_)
      throw DataError("cannot read sample " + std::to_string(index) + " of coded.bin");
    for (int64_t j = 0; j < chw_.numel(); ++j)
      image[j] = static_cast<float>((1000 * index + j + 1) * 1e-6);
    *label = static_cast<int32_t>(index);
  }
  std::string describe() const override { return "coded " + std::to_string(n_); }

 private:
  int64_t n_;
  Shape chw_;
  int64_t fail_at_;
};

struct Copied {
  std::vector<float> images;
  std::vector<int32_t> labels;
  bool operator==(const Copied& o) const { return images == o.images && labels == o.labels; }
};

Copied copy(const Batch& b) {
  return {std::vector<float>(b.images.f32(), b.images.f32() + b.images.numel()),
          std::vector<int32_t>(b.labels.data<int32_t>(), b.labels.data<int32_t>() + b.size)};
}

std::vector<Copied> epoch_batches(Loader& loader, int64_t epoch, int64_t skip = 0) {
  loader.start_epoch(epoch, skip);
  std::vector<Copied> out;
  Batch b;
  while (loader.next(b)) out.push_back(copy(b));
  return out;
}

LoaderOptions options(int64_t batch, int prefetch = 1) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = 11;
  o.prefetch = prefetch;
  return o;
}

LoaderOptions augmented(int prefetch, int workers) {
  LoaderOptions o = options(8, prefetch);
  o.crop_padding = 2;
  o.horizontal_flip = true;
  o.mean = {0.1f, 0.2f};
  o.std = {0.5f, 0.25f};
  o.workers = workers;
  return o;
}

TEST(Loader, EpochVisitsEverySampleOnceInTheSeededPermutation) {
  CodedDataset data(50);
  LoaderOptions o = options(8);
  o.drop_last = false;
  Loader loader(data, o);
  EXPECT_EQ(loader.batches_per_epoch(), 7);
  std::vector<int32_t> seen;
  for (const Copied& b : epoch_batches(loader, 3))
    seen.insert(seen.end(), b.labels.begin(), b.labels.end());
  std::vector<int64_t> perm = rng_permutation(rng_key(11, RngStream::Shuffle, 3), 50);
  EXPECT_EQ(seen, std::vector<int32_t>(perm.begin(), perm.end()));
}

TEST(Loader, ImagesMatchTheDatasetSampleOfEachLabel) {
  CodedDataset data(20);
  Loader loader(data, options(4));
  for (const Copied& b : epoch_batches(loader, 0))
    for (size_t i = 0; i < b.labels.size(); ++i) {
      std::vector<float> want = testing::sample_of(data, b.labels[i]);
      EXPECT_TRUE(std::equal(want.begin(), want.end(), b.images.begin() + i * 60)) << "row " << i;
    }
}

TEST(Loader, ShortLastBatchHasItsOwnSize) {
  CodedDataset data(50);
  LoaderOptions o = options(8);
  o.drop_last = false;
  o.shuffle = false;
  Loader loader(data, o);
  loader.start_epoch(0, 6);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.size, 2);
  EXPECT_EQ(b.images.shape(), Shape({2, 2, 5, 6}));
  EXPECT_EQ(b.labels.shape(), Shape({2}));
  EXPECT_EQ(b.labels.data<int32_t>()[1], 49);  // unshuffled: the last samples, in order
  EXPECT_FALSE(loader.next(b));
}

// Data parallelism: shard r of a step holds slice r of the unsharded loader's batch of batch * shards
// samples, augmentation included, and every shard has the same number of steps.
TEST(Loader, ShardsSplitEachStepOfTheUnshardedOrder) {
  CodedDataset data(52);  // steps of 3 x 4 samples; without drop_last a short last step of 4 = 1 + 1 + 2
  for (bool drop_last : {true, false}) {
    LoaderOptions whole = augmented(1, 1);
    whole.batch_size = 12;
    whole.drop_last = drop_last;
    Loader unsharded(data, whole);
    const std::vector<Copied> want = epoch_batches(unsharded, 2);
    std::vector<std::vector<Copied>> shards;
    for (int64_t r = 0; r < 3; ++r) {
      LoaderOptions o = whole;
      o.batch_size = 4;
      o.shard_rank = r;
      o.shard_count = 3;
      Loader loader(data, o);
      EXPECT_EQ(loader.batches_per_epoch(), unsharded.batches_per_epoch());
      shards.push_back(epoch_batches(loader, 2));
    }
    ASSERT_EQ(want.size(), drop_last ? 4u : 5u);
    for (size_t b = 0; b < want.size(); ++b) {
      Copied joined;
      for (const auto& shard : shards) {
        joined.images.insert(joined.images.end(), shard[b].images.begin(), shard[b].images.end());
        joined.labels.insert(joined.labels.end(), shard[b].labels.begin(), shard[b].labels.end());
      }
      EXPECT_TRUE(joined == want[b]) << "step " << b;
    }
  }
}

TEST(Loader, AShortLastStepWithFewerSamplesThanShardsIsDropped) {
  CodedDataset data(13);  // steps of 2 x 6: a last step of 1 sample for 2 shards
  LoaderOptions o = options(6);
  o.drop_last = false;
  o.shard_count = 2;
  o.shard_rank = 1;
  Loader loader(data, o);
  EXPECT_EQ(loader.batches_per_epoch(), 1);
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.size, 6);
  EXPECT_EQ(b.global_size, 12);
}

TEST(Loader, DropLastLeavesOutTheShortBatch) {
  CodedDataset data(50);
  Loader loader(data, options(8));
  EXPECT_EQ(loader.batches_per_epoch(), 6);
  for (const Copied& b : epoch_batches(loader, 0)) EXPECT_EQ(b.labels.size(), 8u);
}

TEST(Loader, WithoutShuffleSamplesComeInOrder) {
  CodedDataset data(12);
  LoaderOptions o = options(4);
  o.shuffle = false;
  Loader loader(data, o);
  std::vector<Copied> batches = epoch_batches(loader, 5);
  EXPECT_EQ(batches[1].labels, (std::vector<int32_t>{4, 5, 6, 7}));
}

TEST(Loader, SameSeedGivesIdenticalBatchesAndEpochsDiffer) {
  CodedDataset data(64);
  Loader a(data, augmented(1, 1)), b(data, augmented(1, 1));
  EXPECT_EQ(epoch_batches(a, 2), epoch_batches(b, 2));
  EXPECT_NE(epoch_batches(a, 2)[0].labels, epoch_batches(a, 3)[0].labels);
}

TEST(Loader, PrefetchAndWorkersGiveTheSameBatchesAsSynchronous) {
  CodedDataset data(64);
  Loader sync(data, augmented(0, 1)), prefetch(data, augmented(1, 1)), deep(data, augmented(3, 2));
  for (int64_t epoch : {0, 1}) {
    std::vector<Copied> want = epoch_batches(sync, epoch);
    ASSERT_EQ(want.size(), 8u);
    EXPECT_EQ(epoch_batches(prefetch, epoch), want) << "epoch " << epoch;
    EXPECT_EQ(epoch_batches(deep, epoch), want) << "epoch " << epoch;
  }
}

TEST(Loader, ResumingAtASkipYieldsExactlyTheRemainingBatches) {
  CodedDataset data(64);
  Loader full(data, augmented(1, 1)), resumed(data, augmented(2, 1));
  std::vector<Copied> all = epoch_batches(full, 4);
  std::vector<Copied> rest = epoch_batches(resumed, 4, 3);
  EXPECT_EQ(rest, std::vector<Copied>(all.begin() + 3, all.end()));
  EXPECT_TRUE(epoch_batches(resumed, 4, 8).empty());
}

TEST(Loader, StartingAnEpochMidwayAbandonsThePreviousOne) {
  CodedDataset data(64);
  Loader loader(data, augmented(2, 1)), fresh(data, augmented(2, 1));
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(epoch_batches(loader, 1), epoch_batches(fresh, 1));
}

TEST(Loader, DestroyingMidEpochJoinsThePrefetchThread) {
  CodedDataset data(256);
  for (int prefetch : {1, 3}) {
    Loader loader(data, options(8, prefetch));
    loader.start_epoch(0);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(5));  // the producer is now blocked on a slot
  }                                     // must return rather than hang
  SUCCEED();
}

TEST(Loader, ReturnedBatchStaysIntactWhileLaterBatchesArePrepared) {
  CodedDataset data(256);
  Loader loader(data, options(8, 3));
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  Copied before = copy(b);
  std::this_thread::sleep_for(
      std::chrono::milliseconds(20));  // let the producer fill every free slot
  EXPECT_EQ(copy(b), before);
}

TEST(Loader, ErrorsInThePrefetchThreadAreRethrownFromNextInBatchOrder) {
  CodedDataset data(64, {2, 5, 6}, /*fail_at=*/20);
  LoaderOptions o = options(8, 2);
  o.shuffle = false;
  o.workers = 2;
  Loader loader(data, o);
  loader.start_epoch(0);
  Batch b;
  EXPECT_TRUE(loader.next(b));  // samples 0..7
  EXPECT_TRUE(loader.next(b));  // samples 8..15
  EXPECT_THROW_WITH(loader.next(b), DataError, {"sample 20", "coded.bin"});
  // A new epoch starts cleanly after the failure.
  loader.start_epoch(1);
  EXPECT_TRUE(loader.next(b));
}

TEST(Loader, SteadyStateAllocatesNoTensorBuffers) {
  CodedDataset data(64);
  Loader loader(data, augmented(2, 2));
  const uint64_t before = default_cpu_allocator().allocation_count();
  for (int64_t epoch = 0; epoch < 3; ++epoch) epoch_batches(loader, epoch);
  EXPECT_EQ(default_cpu_allocator().allocation_count(), before);
}

TEST(Loader, HorizontalFlipMirrorsAboutHalfTheSamples) {
  const Shape chw{2, 5, 6};
  CodedDataset data(400, chw);
  LoaderOptions o = options(50);
  o.horizontal_flip = true;
  Loader loader(data, o);
  int flipped = 0, total = 0;
  for (const Copied& b : epoch_batches(loader, 0))
    for (size_t i = 0; i < b.labels.size(); ++i, ++total) {
      std::vector<float> src = testing::sample_of(data, b.labels[i]);
      const float* out = b.images.data() + i * 60;
      bool same = true, mirrored = true;
      for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 5; ++y)
          for (int x = 0; x < 6; ++x) {
            same &= out[c * 30 + y * 6 + x] == src[c * 30 + y * 6 + x];
            mirrored &= out[c * 30 + y * 6 + x] == src[c * 30 + y * 6 + (5 - x)];
          }
      ASSERT_TRUE(same || mirrored) << "sample " << b.labels[i];
      flipped += mirrored;
    }
  EXPECT_EQ(total, 400);
  EXPECT_NEAR(flipped / double(total), 0.5, 0.1);
}

// The shift (dy, dx) with out[y][x] == src[y + dy][x + dx] (zero outside), or false.
bool find_shift(const float* out, const std::vector<float>& src, int pad, int* found_dy,
                int* found_dx) {
  for (int dy = -pad; dy <= pad; ++dy)
    for (int dx = -pad; dx <= pad; ++dx) {
      bool match = true;
      for (int c = 0; c < 2 && match; ++c)
        for (int y = 0; y < 5 && match; ++y)
          for (int x = 0; x < 6 && match; ++x) {
            const int sy = y + dy, sx = x + dx;
            const float want =
                sy >= 0 && sy < 5 && sx >= 0 && sx < 6 ? src[c * 30 + sy * 6 + sx] : 0.0f;
            match = out[c * 30 + y * 6 + x] == want;
          }
      if (match) {
        *found_dy = dy;
        *found_dx = dx;
        return true;
      }
    }
  return false;
}

TEST(Loader, RandomCropKeepsContentShiftedWithinThePadding) {
  CodedDataset data(400);
  LoaderOptions o = options(50);
  o.crop_padding = 2;
  Loader loader(data, o);
  std::vector<int> shifts_seen(25, 0);
  for (const Copied& b : epoch_batches(loader, 1))
    for (size_t i = 0; i < b.labels.size(); ++i) {
      int dy = 0, dx = 0;
      ASSERT_TRUE(
          find_shift(b.images.data() + i * 60, testing::sample_of(data, b.labels[i]), 2, &dy, &dx))
          << "sample " << b.labels[i] << " is not a shifted copy";
      ++shifts_seen[(dy + 2) * 5 + (dx + 2)];
    }
  for (int s = 0; s < 25; ++s)
    EXPECT_GT(shifts_seen[s], 4) << "shift " << s / 5 - 2 << "," << s % 5 - 2;
}

TEST(Loader, NormalisationUsesPerChannelMeanAndStd) {
  CodedDataset data(16);
  LoaderOptions o = options(4);
  o.mean = {0.5f, -1.0f};
  o.std = {2.0f, 0.5f};
  Loader loader(data, o);
  for (const Copied& b : epoch_batches(loader, 0))
    for (size_t i = 0; i < b.labels.size(); ++i) {
      std::vector<float> src = testing::sample_of(data, b.labels[i]);
      for (int j = 0; j < 60; ++j) {
        const int c = j / 30;
        ASSERT_EQ(b.images[i * 60 + j], (src[j] - o.mean[c]) / o.std[c]) << "value " << j;
      }
    }
}

TEST(Loader, BadOptionsAreConfigErrors) {
  CodedDataset data(10);
  LoaderOptions zero = options(0);
  EXPECT_THROW_WITH(Loader(data, zero), ConfigError, {"batch_size"});
  LoaderOptions too_big = options(16);
  EXPECT_THROW_WITH(Loader(data, too_big), ConfigError, {"16", "coded 10", "drop_last"});
  LoaderOptions short_mean = options(2);
  short_mean.mean = {0.5f};
  short_mean.std = {0.5f};
  EXPECT_THROW_WITH(Loader(data, short_mean), ConfigError, {"mean", "[2, 5, 6]"});
  LoaderOptions zero_std = options(2);
  zero_std.mean = {0.5f, 0.5f};
  zero_std.std = {0.5f, 0.0f};
  EXPECT_THROW_WITH(Loader(data, zero_std), ConfigError, {"std[1]"});
}

TEST(Loader, NextBeforeStartEpochIsAnInternalError) {
  CodedDataset data(10);
  Loader loader(data, options(2));
  Batch b;
  EXPECT_THROW(loader.next(b), InternalError);
}

}  // namespace
}  // namespace frugal
