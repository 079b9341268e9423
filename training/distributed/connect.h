// Connects this process to its job: the communicator that fits how it was launched (launch.h), the
// build (MPI, NCCL) and the device.
#pragma once
#include <memory>

#include "core/error.h"
#include "training/distributed/communicator.h"
#include "training/distributed/launch.h"

namespace frugal {

// Alone: a SingleProcessCommunicator. Started by a launcher: MPI (with NCCL for the gradients when the
// device is CUDA). ConfigError, naming the launcher and the fix, when a multi-rank launch meets a build
// without MPI, or CUDA gradients a build without NCCL.
std::unique_ptr<Communicator> connect_job(const LaunchInfo& launch, double timeout_s, Device device);

// Whether this build can run several ranks (it found MPI).
bool mpi_built();

// What connect_job throws in a build without MPI when `launch` started several ranks: names the launcher,
// the rank and how to fix it.
ConfigError multi_rank_without_mpi(const LaunchInfo& launch);

}  // namespace frugal
