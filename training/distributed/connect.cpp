#include "training/distributed/connect.h"

#include "core/error.h"
#include "training/distributed/single_process_communicator.h"

#ifdef FRUGAL_HAS_MPI
#include "training/distributed/mpi/mpi_communicator.h"
#endif
#ifdef FRUGAL_HAS_NCCL
#include "training/distributed/cuda/nccl_communicator.h"
#endif

namespace frugal {

bool mpi_built() {
#ifdef FRUGAL_HAS_MPI
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> connect_job(const LaunchInfo& launch, double timeout_s, Device device) {
  if (!launch.launched()) return std::make_unique<SingleProcessCommunicator>(device);
#ifdef FRUGAL_HAS_MPI
  auto mpi = std::make_unique<MpiCommunicator>(timeout_s);
  if (device == Device::CPU) return mpi;
#ifdef FRUGAL_HAS_NCCL
  return std::make_unique<NcclCommunicator>(std::move(mpi), launch.local_rank);
#else
  if (launch.size == 1) return std::make_unique<SingleProcessCommunicator>(device);
  throw ConfigError("device 'cuda' with " + std::to_string(launch.size) +
                    " ranks needs NCCL to reduce the gradients, and this build has none (it looks for nccl.h and "
                    "libnccl in the CUDA toolkit; docs/distributed.md)");
#endif
#else
  if (launch.size == 1) return std::make_unique<SingleProcessCommunicator>(device);
  throw ConfigError("this process was started as rank " + std::to_string(launch.rank) + " of " +
                    std::to_string(launch.size) + " by " + launch.launcher +
                    ", but this frugal was built without MPI: install Open MPI (apt-get install libopenmpi-dev "
                    "openmpi-bin, or scripts/setup.sh) and rebuild, or start a single process");
#endif
}

}  // namespace frugal
