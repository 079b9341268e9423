#include "training/distributed/launch.h"

#include <cstdlib>

#include "core/error.h"

namespace frugal {
namespace {

// The variable's value as a non-negative int, or -1 when unset. ConfigError when set to something else.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 24)
    throw ConfigError(std::string("environment variable ") + name + "='" + v + "' is not a rank count or index");
  return static_cast<int>(x);
}

// One launcher's variables: total, rank, local rank, local size (nullptr where it has none).
struct LauncherVars {
  const char* label;
  const char *size, *rank, *local_rank, *local_size;
};

}  // namespace

LaunchInfo detect_launch() {
  // First match wins: mpirun sets OMPI_*; MPICH's Hydra and srun --mpi=pmi2 set PMI_*; srun sets
  // SLURM_STEP_NUM_TASKS only for a job step it started (not in the batch script itself).
  static const LauncherVars kLaunchers[] = {
      {"Open MPI", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE"},
      {"PMI", "PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
      {"Slurm srun", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "SLURM_LOCALID", nullptr},
  };
  LaunchInfo info;
  for (const LauncherVars& l : kLaunchers) {
    const int size = env_int(l.size);
    if (size < 0) continue;
    const int rank = env_int(l.rank);
    if (size == 0 || rank < 0 || rank >= size)
      throw ConfigError(std::string("launched by ") + l.label + " with " + l.size + "=" + std::to_string(size) +
                        " but " + l.rank + (rank < 0 ? " unset" : "=" + std::to_string(rank)));
    info.size = size;
    info.rank = rank;
    info.local_rank = l.local_rank && env_int(l.local_rank) >= 0 ? env_int(l.local_rank) : 0;
    info.local_size = l.local_size && env_int(l.local_size) > 0 ? env_int(l.local_size) : 1;
    info.launcher = std::string(l.label) + " (" + l.size + "=" + std::to_string(size) + ")";
    return info;
  }
  return info;
}

}  // namespace frugal
