// Batches for training and evaluation: a per-epoch shuffle, per-sample augmentation, normalisation,
// and a background thread that prepares the next batches while the current one trains.
//
// The batch sequence is a pure function of (dataset, options, seed, epoch): prefetching, worker
// threads and resuming at (epoch, skip) never change a single value.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "datasets/batch_assembler.h"
#include "datasets/dataset.h"

namespace frugal {

struct Batch {
  Tensor images;  // [B, C, H, W] f32
  Tensor labels;  // [B] I32
  int64_t size = 0;
  int64_t global_size = 0;  // samples of this step over all shards (= size without sharding)
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 0;
  // Augmentation; the trainer enables it for the training split only.
  int64_t crop_padding = 0;
  bool horizontal_flip = false;
  bool random_resized_crop = false;  // torchvision's RandomResizedCrop (image_folder datasets)
  RandomResizedCropOptions crop;
  std::vector<float> mean, std;  // per-channel normalisation after augmentation (empty = none)
  int prefetch = 1;              // batches prepared ahead by a background thread (0 = synchronous)
  int workers = 1;  // OpenMP threads that fill one batch (samples are split statically)
  // Data parallelism (docs/distributed.md): a step takes batch_size * shard_count consecutive samples of
  // the epoch's order (the same order on every shard) and this loader yields slice shard_rank of them,
  // so the samples of a step, and their augmentation, do not depend on the number of shards. A short
  // last step is split as evenly as possible; it is dropped when it has fewer samples than shards.
  int64_t shard_rank = 0, shard_count = 1;
};

class Loader {
 public:
  // ConfigError for bad options (batch size, mean/std length or zero std, negative padding) or when
  // an epoch would hold no batch. `data` must outlive the loader.
  Loader(const Dataset& data, LoaderOptions opts);
  ~Loader();  // stops and joins the prefetch thread, also mid-epoch
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  const LoaderOptions& options() const { return opts_; }

  // Begins `epoch` (shuffled from (seed, epoch)) at batch `skip_batches`, so a resumed run sees
  // exactly batches skip_batches.. of that epoch. Abandons whatever epoch was in progress.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);

  // The next batch, or false at the epoch's end. The tensors stay valid until the next call of
  // next() or start_epoch(). Errors raised while preparing a batch (in the prefetch thread too) are
  // thrown from here, in batch order.
  bool next(Batch& out);

 private:
  // One preallocated batch buffer. `batch` is the batch index it holds once ready (-1 = none).
  struct Slot {
    Tensor images, labels;
    int64_t batch = -1;
  };

  int64_t global_rows(int64_t batch) const;  // samples of `batch` over all shards (the last may be short)
  int64_t shard_begin(int64_t batch) const;  // position of this shard's first sample in the epoch
  int64_t batch_rows(int64_t batch) const;   // samples of `batch` in this shard
  void fill(int64_t batch, Slot& slot);
  Slot& slot_of(int64_t batch) { return slots_[static_cast<size_t>(batch % slots_.size())]; }
  void produce(int64_t first_batch);  // prefetch thread body
  void stop_producer();

  const Dataset& data_;
  LoaderOptions opts_;
  BatchAssembler assembler_;
  int64_t batches_per_epoch_ = 0;

  int64_t epoch_ = -1;          // -1 until start_epoch
  std::vector<int64_t> order_;  // dataset index of each position in the epoch
  std::vector<Slot> slots_;     // prefetch + 1 buffers: one held by the consumer, the rest ahead
  int64_t next_batch_ = 0;      // consumer: the batch next() returns next
  int64_t held_batch_ = -1;     // consumer: the batch whose buffers the caller may still be reading
  int64_t replaced_logged_ = 0;  // the dataset's replaced_samples() when last reported

  // Shared with the prefetch thread, guarded by mutex_.
  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t released_below_ = 0;  // batches below this are done with; their slots may be refilled
  bool cancel_ = false;
  std::exception_ptr error_;
  int64_t error_batch_ = -1;
};

}  // namespace frugal
