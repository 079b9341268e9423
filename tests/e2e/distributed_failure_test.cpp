// End-to-end data parallelism when a rank fails (docs/distributed.md): a rank that stops answering ends
// the job within distributed.timeout_s with a message naming it, a rank that dies ends it at once, and a
// job killed mid-run resumes to the bits of the uninterrupted run.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "tests/e2e/mpi_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A long run of the tiny MLP (no dropout), logging every step.
nlohmann::json long_config(int epochs) {
  nlohmann::json c = tiny_config("dp_long");
  c["model"]["dropout"] = 0.0;
  c["threads"] = 1;
  c["data"]["batch_size"] = 16;
  c["train"]["epochs"] = epochs;
  c["train"]["log_every"] = 1;
  return c;
}

// An mpirun job whose output is read line by line while it runs.
class Job {
 public:
  Job(int ranks, const std::string& args) { pipe_ = popen((mpirun_command(ranks, args) + " 2>&1").c_str(), "r"); }
  ~Job() {
    if (pipe_) finish();
  }
  // The next line of output; false at the end.
  bool next_line(std::string& line) {
    char buf[4096];
    if (!fgets(buf, sizeof buf, pipe_)) return false;
    line = buf;
    output_ += line;
    return true;
  }
  // Reads until a line matches `pattern`; its first capture group, or "" when the output ended.
  std::string wait_for(const std::regex& pattern) {
    for (std::string line; next_line(line);) {
      std::smatch m;
      if (std::regex_search(line, m, pattern)) return m.size() > 1 ? m[1].str() : m[0].str();
    }
    return "";
  }
  // Reads to the end; the exit code.
  int finish() {
    for (std::string line; next_line(line);) {
    }
    const int status = pclose(pipe_);
    pipe_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& output() const { return output_; }

 private:
  FILE* pipe_ = nullptr;
  std::string output_;
};

const std::regex kRank1Pid(R"(rank 1 of 2: pid (\d+))");
const std::regex kStep3(R"(step 3 )");

TEST(DistributedFailure, AStoppedRankEndsTheJobWithinTheTimeoutNamingIt) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_hang");
  write_text(dir.path() / "c.json", long_config(1000).dump(2));
  constexpr double kTimeout = 5;  // well above a step of this model on a busy machine
  Job job(2, "train --config " + dir.str("c.json") + " --set distributed.timeout_s=5 --output " + dir.str("run"));
  const std::string pid = job.wait_for(kRank1Pid);
  ASSERT_FALSE(pid.empty()) << job.output();
  ASSERT_FALSE(job.wait_for(kStep3).empty()) << job.output();
  const pid_t rank1 = static_cast<pid_t>(std::stol(pid));
  ASSERT_EQ(kill(rank1, SIGSTOP), 0);  // alive but silent, as a hung rank
  const auto stopped = Clock::now();
  const int code = job.finish();
  const double seconds = std::chrono::duration<double>(Clock::now() - stopped).count();
  kill(rank1, SIGKILL);  // in case the launcher left it behind
  EXPECT_NE(code, 0) << job.output();
  EXPECT_NE(job.output().find("rank 1 (pid " + pid), std::string::npos) << job.output();
  EXPECT_NE(job.output().find("did not answer"), std::string::npos) << job.output();
  // The timeout, the grace for answers (a quarter of it, at least 1 s), and the launcher's clean-up.
  EXPECT_LT(seconds, kTimeout * 1.25 + 10) << job.output();
  EXPECT_FALSE(fs::exists(dir.path() / "run/summary.json"));
}

TEST(DistributedFailure, ADeadRankEndsTheJobNamingIt) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_dead");
  write_text(dir.path() / "c.json", long_config(1000).dump(2));
  Job job(2, "train --config " + dir.str("c.json") + " --set distributed.timeout_s=30 --output " + dir.str("run"));
  const std::string pid = job.wait_for(kRank1Pid);
  ASSERT_FALSE(pid.empty()) << job.output();
  ASSERT_FALSE(job.wait_for(kStep3).empty()) << job.output();
  const auto killed = Clock::now();
  ASSERT_EQ(kill(static_cast<pid_t>(std::stol(pid)), SIGKILL), 0);
  const int code = job.finish();
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  EXPECT_NE(code, 0) << job.output();
  EXPECT_TRUE(std::regex_search(job.output(), std::regex("rank 1 .*(exited|signal|killed|Killed)")) ||
              job.output().find("rank 1 (pid " + pid) != std::string::npos)
      << job.output();
  EXPECT_LT(seconds, 30) << "the launcher should end the job before the timeout: " << job.output();
}

// Resume after the job was killed mid-run (rank 0 killed with SIGKILL once a checkpoint exists) gives the
// files of the uninterrupted run, with sharded optimizer state and gradients and a per-rank mode state
// (the outer-product memories of each rank's samples).
TEST(DistributedFailure, ResumeAfterAKillEqualsTheUninterruptedRun) {
  FRUGAL_SKIP_WITHOUT_MPI();
  TempDir dir("dp_resume");
  nlohmann::json c = long_config(40);
  c["train"]["log_every"] = 8;
  c["backward"] = {{"default", {{"mode", "exact"}}},
                   {"layers", {{{"match", "1"}, {"mode", "outer_product"}, {"k_fraction", 0.5}, {"memory", true}}}}};
  c["distributed"] = {{"shard_optimizer_state", true}, {"shard_gradients", true}, {"bucket_mb", 0.002}};
  write_text(dir.path() / "c.json", c.dump(2));
  const std::string config = " --config " + dir.str("c.json");
  CliResult straight = run_mpi(2, "train" + config + " --output " + dir.str("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;

  Job job(2, "train" + config + " --output " + dir.str("killed"));
  const std::string pid0 = job.wait_for(std::regex(R"(rank 0 of 2: pid (\d+))"));
  ASSERT_FALSE(pid0.empty()) << job.output();
  const fs::path state = dir.path() / "killed/checkpoint/state.json";
  while (!fs::exists(state)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(static_cast<pid_t>(std::stol(pid0)), SIGKILL);
  EXPECT_NE(job.finish(), 0) << job.output();
  ASSERT_FALSE(fs::exists(dir.path() / "killed/summary.json")) << "the run ended before the kill";
  const int epoch = nlohmann::json::parse(read_text(state))["epoch"];
  EXPECT_LT(epoch, 40);

  CliResult resumed = run_mpi(2, "train --resume " + dir.str("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  for (const char* f : {"model", "optimizer"})
    EXPECT_TRUE(read_text(dir.path() / "straight/checkpoint" / (std::string(f) + ".safetensors")) ==
                read_text(dir.path() / "killed/checkpoint" / (std::string(f) + ".safetensors")))
        << f << " after resuming from epoch " << epoch;
  // The outer-product memory of rank 1 is in the checkpoint next to rank 0's.
  const SafetensorsFile opt = load_safetensors(dir.str("killed/checkpoint/optimizer.safetensors"));
  bool rank1_memory = false;
  for (const auto& [name, t] : opt.tensors) rank1_memory = rank1_memory || name.rfind("mode.rank1.", 0) == 0;
  EXPECT_TRUE(rank1_memory);

  // Resuming with another rank count is refused, naming the count to use.
  CliResult other = run_mpi(1, "train --resume " + dir.str("killed"));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("mpirun -np 2"), std::string::npos) << other.output;
}

}  // namespace
}  // namespace frugal::e2e
