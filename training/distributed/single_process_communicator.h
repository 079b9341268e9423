// The communicator of a job with one process: every collective is a copy (or nothing), so the
// data-parallel code paths run unchanged on one rank.
#pragma once
#include "training/distributed/communicator.h"

namespace frugal {

class SingleProcessCommunicator final : public Communicator {
 public:
  explicit SingleProcessCommunicator(Device gradient_device = Device::CPU) : device_(gradient_device) {}

  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string describe() const override { return "single process"; }
  Device gradient_device() const override { return device_; }

  void all_reduce_sum(double*, int64_t, const std::string&) override {}
  void all_gather(const void* send, void* recv, size_t bytes_per_rank, const std::string&) override;
  void gather(const void* send, void* recv, size_t bytes_per_rank, int root, const std::string&) override;
  void broadcast(void*, size_t, int, const std::string&) override {}

  uint64_t queue(BucketOp op) override;  // runs it at once
  void wait_for(uint64_t) override {}
  uint64_t last_ticket() const override { return tickets_; }
  [[noreturn]] void abort(int code) override;

 private:
  Device device_;
  uint64_t tickets_ = 0;
};

}  // namespace frugal
