// The collectives that data-parallel training needs, over the N processes of one job (docs/distributed.md).
// Implementations: MPI (mpi/mpi_communicator.h, CPU memory), NCCL for CUDA gradients with MPI for the
// rest (cuda/nccl_communicator.h), and a single process (single_process_communicator.h).
//
// Two channels, each driven by one thread, with the same calls in the same order on every rank:
//  - the control channel: blocking collectives over host memory (BatchNorm statistics, metrics,
//    checkpoints, start-up checks), called from the training thread;
//  - the gradient channel: bucket collectives over the device memory of gradients and weights. The
//    training thread queues them while its backward pass runs on (overlap); they run in queue order on
//    the communicator's own progress thread or stream, and wait_queue() returns once all have finished.
//
// No collective waits forever: one that waits longer than the timeout (distributed.timeout_s) asks the
// other ranks where they are and ends the whole job with a message naming those that did not answer
// (dead or hung) or that wait elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"

namespace frugal {

// One queued collective over a gradient bucket of size() * chunk floats in device memory.
struct BucketOp {
  enum class Kind {
    AllReduce,      // data [size*chunk] in place: afterwards the sum over ranks, on every rank
    ReduceScatter,  // data [size*chunk] is this rank's contribution; result [chunk] gets the sum of chunk
                    // rank() (result may be that chunk of data itself: in place)
    AllGather,      // data [size*chunk] in place: chunk r of rank r goes to every rank
  };
  Kind kind = Kind::AllReduce;
  float* data = nullptr;
  float* result = nullptr;  // ReduceScatter only
  int64_t chunk = 0;
  // AllReduce and ReduceScatter: this rank's contribution is multiplied by pre_scale before the sum (1:
  // untouched) and the sum by post_scale after (the 1/N of an average).
  float pre_scale = 1.0f, post_scale = 1.0f;
  std::string what;  // for timeout messages, e.g. "gradient bucket 3/7 of step 12"
};

// When the gradient channel was busy: [start, end) in seconds of std::chrono::steady_clock, one
// interval per op.
using BusyIntervals = std::vector<std::pair<double, double>>;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // For logs: e.g. "MPI (Open MPI v4.1.4), 2 ranks on 1 host".
  virtual std::string describe() const = 0;
  // Where rank r runs, e.g. "pid 1234 on node-3" ("" when unknown), for messages about it.
  virtual std::string where(int r) const { return ""; }
  // The device whose memory the gradient channel reduces.
  virtual Device gradient_device() const = 0;

  // ---- control channel: host memory, blocking. `what` names the collective in timeout messages ----
  virtual void all_reduce_sum(double* data, int64_t n, const std::string& what) = 0;
  // recv: size() * bytes_per_rank, rank r's bytes at r * bytes_per_rank.
  virtual void all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string& what) = 0;
  // As all_gather, but only `root`'s recv is written (others may pass null).
  virtual void gather(const void* send, void* recv, size_t bytes_per_rank, int root, const std::string& what) = 0;
  virtual void broadcast(void* data, size_t bytes, int root, const std::string& what) = 0;

  // ---- gradient channel ----
  // Queues `op` behind the ops queued before; returns its ticket (1, 2, ... over the run).
  virtual uint64_t queue(BucketOp op) = 0;
  // Returns when the op with `ticket` and every op before it have finished, and their results may be
  // read (or their buffers overwritten) by the device's next kernels. Rethrows an error raised by an op.
  virtual void wait_for(uint64_t ticket) = 0;
  void wait_queue() { wait_for(last_ticket()); }
  virtual uint64_t last_ticket() const = 0;
  // The busy intervals of ops finished since the last call (for overlap statistics).
  virtual BusyIntervals take_busy_intervals() { return {}; }

  // Ends every process of the job now with exit code `code` (after the caller logged why). Used when a
  // rank fails alone: its peers would otherwise wait for it until the timeout.
  [[noreturn]] virtual void abort(int code) = 0;
};

}  // namespace frugal
