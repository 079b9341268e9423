// The communicator of CUDA gradients (docs/distributed.md): the gradient channel runs on NCCL, on a
// stream of its own, ordered after the compute stream's work by events, so a bucket's reduction runs on
// the GPU while the backward pass goes on; MPI serves the control channel and the set-up (rank 0's NCCL
// id is broadcast over it). Compiled only with the CUDA backend and NCCL (nccl.h and libnccl of the CUDA
// toolkit); not tested on machines without several GPUs.
//
// As with MPI, an all-reduce is a reduce-scatter (NCCL's average) then an all-gather, so every rank holds
// the same bits and the sums are those of sharded gradients. wait_for() polls the op's event and NCCL's
// asynchronous error on the host, so a dead or hung peer ends the job after distributed.timeout_s with a
// message naming it (through the MPI side), never a hang.
#pragma once
#include <cuda_runtime.h>
#include <nccl.h>

#include <deque>
#include <memory>
#include <vector>

#include "training/distributed/communicator.h"
#include "training/distributed/mpi/mpi_communicator.h"

namespace frugal {

class NcclCommunicator final : public Communicator {
 public:
  // `control` carries the control channel and the set-up. Starts the CUDA backend on this process's GPU.
  explicit NcclCommunicator(std::unique_ptr<MpiCommunicator> control);
  ~NcclCommunicator() override;

  int rank() const override { return control_->rank(); }
  int size() const override { return control_->size(); }
  std::string describe() const override { return describe_; }
  std::string where(int r) const override { return control_->where(r); }
  Device gradient_device() const override { return Device::CUDA; }

  void all_reduce_sum(double* data, int64_t n, const std::string& what) override {
    control_->all_reduce_sum(data, n, what);
  }
  void all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string& what) override {
    control_->all_gather(send, recv, bytes_per_rank, what);
  }
  void gather(const void* send, void* recv, size_t bytes_per_rank, int root, const std::string& what) override {
    control_->gather(send, recv, bytes_per_rank, root, what);
  }
  void broadcast(void* data, size_t bytes, int root, const std::string& what) override {
    control_->broadcast(data, bytes, root, what);
  }

  uint64_t queue(BucketOp op) override;
  void wait_for(uint64_t ticket) override;
  uint64_t last_ticket() const override { return queued_; }
  [[noreturn]] void abort(int code) override;

 private:
  struct Queued {
    uint64_t ticket;
    cudaEvent_t done;  // recorded on stream_ after the op
    std::string what;
  };

  std::unique_ptr<MpiCommunicator> control_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;  // the gradient channel
  cudaEvent_t ready_ = nullptr;    // recorded on the compute stream before each op
  std::string describe_;
  std::deque<Queued> pending_;     // ops not waited for yet, in ticket order
  std::vector<cudaEvent_t> spare_; // events of ops waited for, to record again
  uint64_t queued_ = 0;
};

}  // namespace frugal
