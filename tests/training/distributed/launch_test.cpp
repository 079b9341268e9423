// Which launcher started this process, from its environment (training/distributed/launch.h).
#include "training/distributed/launch.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "training/distributed/connect.h"

namespace frugal {
namespace {

// Sets variables for the test's duration, restoring none: tests clear what they set.
class LaunchEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                          "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_SIZE", "PMI_RANK", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"})
      unsetenv(v);
  }
};

TEST_F(LaunchEnv, AloneWithoutLauncherVariables) {
  TearDown();
  const LaunchInfo l = detect_launch();
  EXPECT_FALSE(l.launched());
  EXPECT_EQ(l.size, 1);
}

TEST_F(LaunchEnv, OpenMpiSetsSizeRankAndLocalRank) {
  setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  setenv("OMPI_COMM_WORLD_RANK", "3", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2", 1);
  const LaunchInfo l = detect_launch();
  EXPECT_TRUE(l.launched());
  EXPECT_EQ(l.size, 4);
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_size, 2);
  EXPECT_NE(l.launcher.find("Open MPI"), std::string::npos);
}

TEST_F(LaunchEnv, SrunStepIsALaunch) {
  setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  setenv("SLURM_PROCID", "5", 1);
  const LaunchInfo l = detect_launch();
  EXPECT_EQ(l.size, 8);
  EXPECT_EQ(l.rank, 5);
  EXPECT_NE(l.launcher.find("srun"), std::string::npos);
}

TEST_F(LaunchEnv, ARankOutsideTheSizeIsAConfigErrorNamingTheVariables) {
  setenv("PMI_SIZE", "2", 1);
  setenv("PMI_RANK", "2", 1);
  try {
    detect_launch();
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("PMI_RANK=2"), std::string::npos) << e.what();
  }
}

// A build without MPI refuses a multi-rank launch before any MPI call, naming the launcher, the rank and
// the fix (what connect_job throws there; this build runs it only when it has no MPI itself).
TEST_F(LaunchEnv, ABuildWithoutMpiRefusesSeveralRanksSayingHowToFixIt) {
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  const LaunchInfo l = detect_launch();
  const std::string m = multi_rank_without_mpi(l).what();
  EXPECT_NE(m.find("rank 1 of 2 by Open MPI (OMPI_COMM_WORLD_SIZE=2)"), std::string::npos) << m;
  EXPECT_NE(m.find("built without MPI"), std::string::npos) << m;
  EXPECT_NE(m.find("apt-get install libopenmpi-dev openmpi-bin"), std::string::npos) << m;
  if (!mpi_built()) {
    try {
      connect_job(l, 5, Device::CPU);
      FAIL() << "expected a ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), m);
    }
  }
}

}  // namespace
}  // namespace frugal
