// The communicator over MPI (Open MPI from Debian, found by CMake's FindMPI), for CPU memory.
//
// Every collective is non-blocking MPI polled until done, so none waits past the timeout. Each channel
// has its own duplicate of MPI_COMM_WORLD, so the training thread's control collectives and the
// progress thread's bucket collectives never match each other's; a third, the watch communicator, carries
// the "where are you?" queries of a rank that timed out: every rank answers them from its polling loops.
// MPI calls from the two threads are serialised by a mutex (MPI_THREAD_SERIALIZED is enough).
//
// An all-reduce of a bucket is a reduce-scatter followed by an all-gather: each chunk's sum is computed
// once, on its owner, and copied to the others, so every rank holds the same bits (MPI does not promise
// that of MPI_Allreduce for floats), and the sums are exactly those of the sharded-gradient reduce-scatter.
#pragma once
#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "training/distributed/communicator.h"

namespace frugal {

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI. `timeout_s`: the longest any collective may wait (distributed.timeout_s).
  explicit MpiCommunicator(double timeout_s);
  // Waits (within the timeout) until every rank got here, then finalises MPI.
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override { return describe_; }
  // "pid 1234 on node-3": where rank r runs, for messages about it.
  std::string where(int r) const override { return where_.at(static_cast<size_t>(r)); }
  Device gradient_device() const override { return Device::CPU; }

  void all_reduce_sum(double* data, int64_t n, const std::string& what) override;
  void all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string& what) override;
  void gather(const void* send, void* recv, size_t bytes_per_rank, int root, const std::string& what) override;
  void broadcast(void* data, size_t bytes, int root, const std::string& what) override;

  uint64_t queue(BucketOp op) override;
  void wait_for(uint64_t ticket) override;
  uint64_t last_ticket() const override { return queued_; }
  BusyIntervals take_busy_intervals() override;

  [[noreturn]] void abort(int code) override;
  // Ends the job as a timed-out collective does: asks the other ranks where they are, names the silent
  // ones. For a communicator that waits on MPI's behalf (NCCL's gradient channel).
  [[noreturn]] void fail_waiting(const std::string& what) { report_timeout(kGradient, what); }
  double timeout_s() const { return timeout_s_; }

 private:
  enum Channel { kControl = 0, kGradient = 1 };
  // Polls `request` until it completes, answering status queries meanwhile; past the timeout, reports
  // and ends the job.
  void wait(MPI_Request& request, Channel channel, const std::string& what);
  // With mpi_ held: answers status queries that arrived, retires finished replies.
  void serve_queries();
  [[noreturn]] void report_timeout(Channel channel, const std::string& what);
  void progress_loop();  // the progress thread: runs queued ops in order
  void run(BucketOp& op);

  int rank_ = 0, size_ = 1;
  double timeout_s_;
  std::string describe_;
  std::vector<std::string> where_;  // per rank
  MPI_Comm control_ = MPI_COMM_NULL, gradient_ = MPI_COMM_NULL, watch_ = MPI_COMM_NULL;

  std::mutex mpi_;                 // held around every MPI call after construction
  std::string waiting_in_[2];      // what each channel waits for now ("" = not waiting); under mpi_
  int query_in_ = 0;               // an incoming status query (its payload is unused)
  MPI_Request query_request_ = MPI_REQUEST_NULL;
  struct Reply {
    char text[256];
    MPI_Request request;
  };
  std::deque<Reply> replies_;      // answers being sent; under mpi_
  std::atomic<bool> aborting_{false};

  // The gradient channel's queue, served by progress_.
  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<BucketOp> pending_;
  bool stopping_ = false;
  uint64_t queued_ = 0, finished_ = 0;  // tickets handed out / ops done (queued_: training thread only)
  std::exception_ptr error_;
  BusyIntervals busy_intervals_;
  std::thread progress_;
};

}  // namespace frugal
