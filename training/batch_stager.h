// Moves the loader's batches to the device the model runs on, one batch ahead, so that a step never
// waits for a transfer it could have overlapped: when next() hands out batch k, batch k+1 is already
// copied into pinned host memory and queued on the device's copy queue, and it lands while step k
// computes. The compute queue waits for an upload through an event, never the host.
//
//   Loader loader(data, options);
//   BatchStager stager(loader, graph.device());
//   stager.start_epoch(epoch);
//   for (Batch b; stager.next(b);) schedule.train_step(b.images, b.labels, ...);
//
// On the CPU the stager is the loader itself: next() is Loader::next, no copy and no look-ahead, so CPU
// results and timings are those of the loader. Every call of next() is a step boundary, where the
// device's memory is sampled for the memory report (DeviceRuntime::sample_memory).
#pragma once
#include <memory>

#include "core/device.h"
#include "datasets/loader.h"

namespace frugal {

class BatchStager {
 public:
  // `loader` must outlive the stager.
  BatchStager(Loader& loader, Device device);
  ~BatchStager();  // waits for uploads still in flight
  BatchStager(const BatchStager&) = delete;
  BatchStager& operator=(const BatchStager&) = delete;

  // Loader::start_epoch; drops a batch staged ahead from the epoch before.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch, on the device, or false at the epoch's end. Its tensors stay valid until the next
  // call of next() or start_epoch(). The step that reads them must be queued before that call.
  bool next(Batch& out);

  Device device() const { return device_; }
  // Memory of the two staging slots (0 on the CPU): device bytes (in the allocator's 64-byte units,
  // as the memory report counts them) and pinned host bytes.
  size_t device_bytes() const;
  size_t pinned_bytes() const;

 private:
  struct Slot;
  // Takes the loader's next batch into slot `s` and queues its upload; false at the epoch's end.
  bool stage(Slot& s);

  Loader& loader_;
  Device device_;
  std::unique_ptr<Slot> slots_[2];
  int current_ = 0;      // the slot next() hands out next
  bool ahead_ = false;   // whether slots_[current_] holds a staged batch
};

}  // namespace frugal
