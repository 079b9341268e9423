// Sums over the replicas of a data-parallel job, for the layers whose forward or backward needs numbers
// from every replica's batch (BatchNorm with global batch statistics, distributed.sync_batchnorm). The
// training side implements it over its communicator (training/distributed/); ops only call it.
#pragma once
#include <cstdint>
#include <string>

namespace frugal {

class ReplicaSum {
 public:
  virtual ~ReplicaSum() = default;
  // Replaces values[0, n) by their sums over the replicas, the same bits on every replica. Every replica
  // calls it at the same point of its step; `what` names the call in timeout messages.
  virtual void sum(double* values, int64_t n, const std::string& what) = 0;
};

}  // namespace frugal
