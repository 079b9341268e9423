#include "datasets/loader.h"

#include <algorithm>
#include <new>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"

namespace frugal {

Loader::Loader(const Dataset& data, LoaderOptions opts)
    : data_(data),
      opts_(std::move(opts)),
      assembler_(data,
                 AugmentOptions{opts_.crop_padding, opts_.horizontal_flip, opts_.random_resized_crop, opts_.crop},
                 opts_.mean, opts_.std, opts_.seed, opts_.workers) {
  if (opts_.batch_size <= 0)
    throw ConfigError("batch_size must be positive, found " + std::to_string(opts_.batch_size));
  if (opts_.prefetch < 0)
    throw ConfigError("prefetch must be >= 0, found " + std::to_string(opts_.prefetch));
  if (opts_.shard_count < 1 || opts_.shard_rank < 0 || opts_.shard_rank >= opts_.shard_count)
    throw InternalError("loader shard " + std::to_string(opts_.shard_rank) + " of " +
                        std::to_string(opts_.shard_count));
  const int64_t n = data_.size();
  const int64_t step = opts_.batch_size * opts_.shard_count;
  batches_per_epoch_ = opts_.drop_last ? n / step : (n + step - 1) / step;
  if (batches_per_epoch_ > 0 && global_rows(batches_per_epoch_ - 1) < opts_.shard_count) --batches_per_epoch_;
  if (batches_per_epoch_ == 0)
    throw ConfigError("batch_size " + std::to_string(opts_.batch_size) +
                      (opts_.shard_count > 1 ? " per rank x " + std::to_string(opts_.shard_count) + " ranks" : "") +
                      " leaves no batch in an epoch of " + data_.describe() +
                      (opts_.drop_last ? " (drop_last is on)" : ""));

  const Shape sample = data_.sample_shape();
  const Shape images_shape{opts_.batch_size, sample[0], sample[1], sample[2]};
  slots_.resize(static_cast<size_t>(opts_.prefetch) + 1);
  for (Slot& slot : slots_) {
    slot.images =
        Tensor::empty(images_shape, DType::F32, nullptr, {MemoryCategory::Data, "loader.images"});
    slot.labels = Tensor::empty({opts_.batch_size}, DType::I32, nullptr,
                                {MemoryCategory::Data, "loader.labels"});
  }
}

Loader::~Loader() { stop_producer(); }

int64_t Loader::global_rows(int64_t batch) const {
  const int64_t step = opts_.batch_size * opts_.shard_count;
  return std::min(step, data_.size() - batch * step);
}

int64_t Loader::shard_begin(int64_t batch) const {
  const int64_t rows = global_rows(batch);
  return batch * opts_.batch_size * opts_.shard_count + opts_.shard_rank * rows / opts_.shard_count;
}

int64_t Loader::batch_rows(int64_t batch) const {
  const int64_t rows = global_rows(batch);
  return (opts_.shard_rank + 1) * rows / opts_.shard_count - opts_.shard_rank * rows / opts_.shard_count;
}

void Loader::fill(int64_t batch, Slot& slot) {
  assembler_.assemble(epoch_, order_, shard_begin(batch), batch_rows(batch), slot.images.f32(),
                      slot.labels.data<int32_t>());
}

void Loader::start_epoch(int64_t epoch, int64_t skip_batches) {
  if (epoch < 0 || skip_batches < 0 || skip_batches > batches_per_epoch_)
    throw InternalError("Loader::start_epoch(" + std::to_string(epoch) + ", " +
                        std::to_string(skip_batches) + "): need epoch >= 0 and skip in [0, " +
                        std::to_string(batches_per_epoch_) + "]");
  stop_producer();
  epoch_ = epoch;
  try {
    if (opts_.shuffle) {
      order_ = rng_permutation(rng_key(opts_.seed, RngStream::Shuffle, static_cast<uint64_t>(epoch)),
                               data_.size());
    } else {
      order_.resize(static_cast<size_t>(data_.size()));
      for (int64_t i = 0; i < data_.size(); ++i) order_[static_cast<size_t>(i)] = i;
    }
  } catch (const std::bad_alloc&) {  // one 8-byte index per example: name the dataset, not the batch size
    throw MemoryBudgetError("out of memory allocating " + std::to_string(data_.size() * 8) +
                            " bytes for the order of the " + std::to_string(data_.size()) + " examples of " +
                            data_.describe() + " (data.train_limit / data.test_limit use fewer)");
  }
  for (Slot& slot : slots_) slot.batch = -1;
  next_batch_ = skip_batches;
  held_batch_ = -1;
  released_below_ = skip_batches;
  cancel_ = false;
  error_ = nullptr;
  error_batch_ = -1;
  if (opts_.prefetch > 0 && skip_batches < batches_per_epoch_)
    producer_ = std::thread(&Loader::produce, this, skip_batches);
}

void Loader::produce(int64_t first_batch) {
  const int64_t slots = static_cast<int64_t>(slots_.size());
  for (int64_t batch = first_batch; batch < batches_per_epoch_; ++batch) {
    {
      // The slot is free once the batch that used it before (batch - slots) has been released.
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return cancel_ || batch < released_below_ + slots; });
      if (cancel_) return;
    }
    Slot& slot = slot_of(batch);
    try {
      fill(batch, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      error_batch_ = batch;
      changed_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    slot.batch = batch;
    changed_.notify_all();
  }
}

void Loader::stop_producer() {
  if (!producer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancel_ = true;
  }
  changed_.notify_all();
  producer_.join();
}

bool Loader::next(Batch& out) {
  if (epoch_ < 0) throw InternalError("Loader::next() called before start_epoch()");
  if (next_batch_ >= batches_per_epoch_) {
    const int64_t replaced = data_.replaced_samples();
    if (replaced > replaced_logged_)
      log().warn("{} samples of {} were replaced by the next decodable image (corrupt files skipped)",
                 replaced - replaced_logged_, data_.describe());
    replaced_logged_ = replaced;
    return false;
  }
  const int64_t batch = next_batch_;
  Slot& slot = slot_of(batch);
  if (opts_.prefetch == 0) {
    fill(batch, slot);
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    // The caller is done with the previous batch: its buffers may be refilled.
    if (held_batch_ >= 0) {
      released_below_ = held_batch_ + 1;
      held_batch_ = -1;
      changed_.notify_all();
    }
    changed_.wait(lock, [&] { return slot.batch == batch || (error_ && error_batch_ == batch); });
    if (slot.batch != batch) std::rethrow_exception(error_);
  }
  held_batch_ = batch;
  ++next_batch_;
  const int64_t rows = batch_rows(batch);
  out.size = rows;
  out.global_size = global_rows(batch);
  out.images = rows == opts_.batch_size ? slot.images : slot.images.slice0(0, rows);
  out.labels = rows == opts_.batch_size ? slot.labels : slot.labels.slice0(0, rows);
  return true;
}

}  // namespace frugal
