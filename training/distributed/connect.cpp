#include "training/distributed/connect.h"

#include <cstdlib>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "training/distributed/single_process_communicator.h"

#ifdef FRUGAL_HAS_MPI
#include "training/distributed/mpi/mpi_communicator.h"
#endif
#ifdef FRUGAL_HAS_NCCL
#include "ops/cuda_module.h"
#endif

namespace frugal {

bool mpi_built() {
#ifdef FRUGAL_HAS_MPI
  return true;
#else
  return false;
#endif
}

namespace {

// Several ranks on one host each take one GPU: the local_rank-th of those visible. Before any CUDA call,
// so that the backend's device 0 is this rank's GPU.
void pick_gpu(const LaunchInfo& launch) {
  if (launch.local_size <= 1) return;
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  std::vector<std::string> ids;
  if (visible && *visible) {
    std::stringstream list(visible);
    for (std::string id; std::getline(list, id, ',');) ids.push_back(id);
  } else {
    for (int i = 0; i < launch.local_size; ++i) ids.push_back(std::to_string(i));
  }
  if (launch.local_rank >= static_cast<int>(ids.size()))
    throw ConfigError("device 'cuda': " + std::to_string(launch.local_size) + " ranks on this host but only " +
                      std::to_string(ids.size()) + " GPU(s) in CUDA_VISIBLE_DEVICES; start one rank per GPU");
  setenv("CUDA_VISIBLE_DEVICES", ids[static_cast<size_t>(launch.local_rank)].c_str(), 1);
}

}  // namespace

std::unique_ptr<Communicator> connect_job(const LaunchInfo& launch, double timeout_s, Device device) {
  if (!launch.launched()) return std::make_unique<SingleProcessCommunicator>(device);
  if (device == Device::CUDA) pick_gpu(launch);
#ifdef FRUGAL_HAS_MPI
  auto mpi = std::make_unique<MpiCommunicator>(timeout_s);
  if (device == Device::CPU) return mpi;
#ifdef FRUGAL_HAS_NCCL
  // The NCCL communicator lives in the CUDA backend's module (training/distributed/cuda/), which takes
  // the MPI communicator over.
  using Entry = Communicator* (*)(MpiCommunicator*);
  const auto entry = reinterpret_cast<Entry>(require_cuda_module_symbol("frugal_cuda_nccl_communicator"));
  return std::unique_ptr<Communicator>(entry(mpi.release()));
#else
  if (launch.size == 1) return std::make_unique<SingleProcessCommunicator>(device);
  throw ConfigError("device 'cuda' with " + std::to_string(launch.size) +
                    " ranks needs NCCL to reduce the gradients, and this build has none (it looks for nccl.h and "
                    "libnccl in the CUDA toolkit; docs/distributed.md)");
#endif
#else
  if (launch.size == 1) return std::make_unique<SingleProcessCommunicator>(device);
  throw multi_rank_without_mpi(launch);
#endif
}

ConfigError multi_rank_without_mpi(const LaunchInfo& launch) {
  return ConfigError("this process was started as rank " + std::to_string(launch.rank) + " of " +
                     std::to_string(launch.size) + " by " + launch.launcher +
                     ", but this frugal was built without MPI: install Open MPI (apt-get install libopenmpi-dev "
                     "openmpi-bin, or scripts/setup.sh) and rebuild, or start a single process");
}

}  // namespace frugal
