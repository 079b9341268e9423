// How this process was started: alone, or as one rank of a job started by mpirun (Open MPI), an
// MPICH-style launcher (PMI) or Slurm's srun. Read from the environment the launchers set, before
// any MPI call, so that a build without MPI can refuse a multi-rank launch with a clear message.
#pragma once
#include <string>

namespace frugal {

struct LaunchInfo {
  int size = 1, rank = 0;
  int local_rank = 0, local_size = 1;  // among the ranks on this host
  std::string launcher;                // "" when started alone; else e.g. "Open MPI (OMPI_COMM_WORLD_SIZE=2)"
  bool launched() const { return !launcher.empty(); }
};

LaunchInfo detect_launch();

}  // namespace frugal
