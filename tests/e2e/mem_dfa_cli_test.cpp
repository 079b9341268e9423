// End-to-end: `frugal train` and `frugal profile` with backward.default.mode=mem_dfa run MEM-DFA's
// two-pass schedule: dfa's weights, a lower memory peak than dfa on a deeper MLP, and bit-identical resume.
#include <gtest/gtest.h>

#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

// tiny_config with `hidden` layers of width 32 under `mode`.
std::string write_config(const TempDir& dir, const std::string& mode, int hidden) {
  nlohmann::json c = tiny_config(mode);
  c["model"]["hidden"] = std::vector<int>(hidden, 32);
  c["backward"] = {{"default", {{"mode", mode}}}};
  const std::string file = dir.str(mode + "_" + std::to_string(hidden) + ".json");
  write_text(file, c.dump(2));
  return file;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_text(p)); }

TEST(MemDfaCli, TrainsDfasWeightsWithALowerPeakOnADeeperMlp) {
  TempDir dir("mem_dfa_train");
  for (const char* mode : {"dfa", "mem_dfa"}) {
    CliResult r = run_frugal("train --config " + write_config(dir, mode, 8) + " --output " + dir.str(mode));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto summary = read_json(dir.path() / "mem_dfa/summary.json");
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["steps"], 16);
  std::istringstream lines(read_text(dir.path() / "mem_dfa/metrics.jsonl"));
  int epochs = 0;
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(nlohmann::json::parse(line)["epoch"], ++epochs);
  EXPECT_EQ(epochs, 2);

  EXPECT_TRUE(read_text(dir.path() / "mem_dfa/checkpoint/model.safetensors") ==
              read_text(dir.path() / "dfa/checkpoint/model.safetensors"));
  auto mem = read_json(dir.path() / "mem_dfa/memory.json"), dfa = read_json(dir.path() / "dfa/memory.json");
  EXPECT_EQ(mem["extra"]["schedule"], "mem_dfa");
  // dfa keeps one [32, 32] buffer per hidden block until its backward; MEM-DFA only a few layers' worth.
  EXPECT_LT(mem["peak_bytes"].get<double>() + 4 * 32 * 32 * 4, dfa["peak_bytes"].get<double>())
      << "mem_dfa " << mem["peak_bytes"] << " dfa " << dfa["peak_bytes"];
}

TEST(MemDfaCli, ProfileReportsTheMemDfaStep) {
  TempDir dir("mem_dfa_profile");
  CliResult r = run_frugal("profile --config " + write_config(dir, "mem_dfa", 4) + " --steps 3 --time -o " + dir.str("p"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mem_dfa"), std::string::npos) << r.output;
  EXPECT_EQ(read_json(dir.path() / "p/memory.json")["extra"]["schedule"], "mem_dfa");
}

// Stopped by a step budget at the end of epoch 1 (8 steps), then resumed: the same weights and optimizer
// state as 2 epochs straight.
TEST(MemDfaCli, ResumeAfterAnEpochIsBitIdentical) {
  TempDir dir("mem_dfa_resume");
  const std::string file = write_config(dir, "mem_dfa", 3);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("straight")).exit_code, 0);
  CliResult first = run_frugal("train --config " + file + " --set train.max_steps=8 --output " + dir.str("split"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  CliResult resumed = run_frugal("train --resume " + dir.str("split") + " --set train.max_steps=0");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read_json(dir.path() / "split/summary.json")["epochs_completed"], 2);
  for (const char* f : {"checkpoint/model.safetensors", "checkpoint/optimizer.safetensors"})
    EXPECT_TRUE(read_text(dir.path() / "straight" / f) == read_text(dir.path() / "split" / f)) << f;
}

}  // namespace
}  // namespace frugal::e2e
