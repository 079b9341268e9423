// One training step's gradient reduction over the buckets of a FlatParameters layout: each bucket is
// queued on the communicator's gradient channel as soon as its gradients are final (while the backward
// pass goes on), in bucket order, so the sums and their rounding are the same in every run with the same
// rank count. The gradients become the average over all ranks' samples: all-reduced in place, or, with
// sharded gradients (ZeRO-2), reduce-scattered into this rank's shard. With a sharded optimizer state
// the updated weights are all-gathered afterwards.
//
//   reducer.begin_step(local_samples, global_samples, step);
//   ... backward: reducer.bucket_ready(b) for b = 0, 1, ... as buckets complete ...
//   reducer.wait_all();  optimizer step;  [reducer.gather_weights(b) for every b;]  reducer.finish_step();
#pragma once
#include <vector>

#include "training/distributed/data_parallel.h"

namespace frugal {

class BucketReducer {
 public:
  explicit BucketReducer(DataParallel& dp) : dp_(dp), flat_(dp.flat()), tickets_(flat_.buckets().size(), 0) {}

  // Before the step's backward: this rank's `local` of the step's `global` samples set its weight in the
  // average; ZeRO-2's first slot is cleared.
  void begin_step(int64_t local, int64_t global, uint64_t step);
  // Bucket b's gradients are final: queues their reduction. With ZeRO-2 slots the slot of bucket b + 1 is
  // then made ready (waiting for its previous user, bucket b + 1 - K).
  void bucket_ready(int b);
  void wait(int b);  // until bucket b's reduction has finished
  // Until every queued collective has finished; the time spent here counts as waited.
  void wait_all();
  // ZeRO-1/2: queues the all-gather of bucket b's weights once this rank updated its chunk of them.
  void gather_weights(int b);
  // The backward pass ended now (for the overlap statistics).
  void backward_done();
  // Waits for everything and adds the step's communication figures to dp.stats().
  void finish_step();

 private:
  DataParallel& dp_;
  FlatParameters& flat_;
  std::vector<uint64_t> tickets_;  // of each bucket's reduction this step
  float pre_scale_ = 1.0f;
  uint64_t step_ = 0;
  double step_start_ = 0, backward_end_ = 0, waited_ = 0;
};

}  // namespace frugal
