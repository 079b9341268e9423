// End-to-end: `frugal sweep` (grid, index, resume after a clean stop and after SIGKILL) and
// `frugal compare` on small synthetic runs.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string write_config(const TempDir& dir, const json& config) {
  write_text(dir.path() / "config.json", config.dump(2));
  return dir.str("config.json");
}

json read_json(const fs::path& file) { return json::parse(read_text(file)); }

// Starts `frugal args...` without waiting; its output goes to `log`.
pid_t start_frugal(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {frugal_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(raw[0], raw.data());
    _exit(127);
  }
  return pid;
}

// backward.auto plans each point for that point's config (here its batch), as `frugal train` does.
TEST(SweepCli, BackwardAutoPlansEveryGridPoint) {
  TempDir dir("sweep_auto");
  auto cfg = tiny_config("auto");
  cfg["train"] = {{"epochs", 1}, {"max_steps", 2}};
  cfg["memory"]["budget_mb"] = 4096;
  cfg["backward"]["auto"] = {{"candidates", {"exact", "recompute"}}};
  CliResult r = run_frugal("sweep --config " + write_config(dir, cfg) + " --grid data.batch_size=16,32 -o " +
                           dir.str("sw"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json index = read_json(dir.path() / "sw/sweep.json");
  ASSERT_EQ(index["runs"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const fs::path run = dir.path() / "sw" / index["runs"][i]["dir"].get<std::string>();
    EXPECT_EQ(read_json(run / "auto_plan.json")["batch_size"], i == 0 ? 16 : 32);
    EXPECT_TRUE(read_json(run / "memory.json")["extra"].contains("backward_auto"));
  }
}

TEST(SweepCli, TrainsEveryGridPointIntoItsOwnRunDirectoryWithAnIndex) {
  TempDir dir("sweep_grid");
  auto cfg = tiny_config("g");
  cfg["train"]["epochs"] = 1;
  const std::string file = write_config(dir, cfg);
  CliResult r = run_frugal("sweep --config " + file + " --grid optimizer.lr=0.01,0.05 --grid model.hidden=[16],[8,8] -j 2 -o " +
                           dir.str("sw"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json index = read_json(dir.path() / "sw/sweep.json");
  ASSERT_EQ(index["runs"].size(), 4u);
  // First axis slowest; labels use the keys' last segments; folders are numbered.
  EXPECT_EQ(index["runs"][0]["label"], "lr=0.01 hidden=[16]");
  EXPECT_EQ(index["runs"][1]["label"], "lr=0.01 hidden=[8,8]");
  EXPECT_EQ(index["runs"][3]["dir"], "03_lr=0.05_hidden=8-8");
  for (const auto& run : index["runs"]) {
    EXPECT_EQ(run["status"], "completed");
    const fs::path run_dir = dir.path() / "sw" / run["dir"].get<std::string>();
    for (const char* f : {"summary.json", "metrics.jsonl", "memory.json", "report.html", "output.txt"})
      EXPECT_TRUE(fs::exists(run_dir / f)) << run_dir / f;
    // The point's values are in the run's resolved config.
    const json config = read_json(run_dir / "config.json");
    EXPECT_EQ(config["model"]["hidden"].size(), run["label"].get<std::string>().find("[8,8]") != std::string::npos ? 2u : 1u);
  }
  EXPECT_DOUBLE_EQ(read_json(dir.path() / "sw/02_lr=0.05_hidden=16/config.json")["optimizer"]["lr"].get<double>(), 0.05);
  for (const char* f : {"compare.md", "compare.html", "compare-accuracy.svg", "compare-pareto.svg"})
    EXPECT_TRUE(fs::exists(dir.path() / "sw" / f)) << f;
}

TEST(SweepCli, RunningItAgainSkipsCompletedRuns) {
  TempDir dir("sweep_again");
  auto cfg = tiny_config("a");
  cfg["train"]["epochs"] = 1;
  const std::string args = "sweep --config " + write_config(dir, cfg) + " --grid seed=1,2 -o " + dir.str("sw");
  ASSERT_EQ(run_frugal(args).exit_code, 0);
  const fs::path summary = dir.path() / "sw/00_seed=1/summary.json";
  const auto written = fs::last_write_time(summary);
  const std::string before = read_text(summary);
  CliResult again = run_frugal(args);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("2 completed, 0 to resume, 0 to start"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(summary), written);
  EXPECT_EQ(read_text(summary), before);
}

TEST(SweepCli, AnotherGridInTheSameDirectoryIsRefused) {
  TempDir dir("sweep_other");
  auto cfg = tiny_config("o");
  cfg["train"]["epochs"] = 1;
  const std::string file = write_config(dir, cfg);
  ASSERT_EQ(run_frugal("sweep --config " + file + " --grid seed=1,2 -o " + dir.str("sw")).exit_code, 0);
  CliResult r = run_frugal("sweep --config " + file + " --grid seed=1,3 -o " + dir.str("sw"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("different sweep"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "sw/01_seed=3"));
}

TEST(SweepCli, ABadGridValueIsRefusedBeforeAnyRunStarts) {
  TempDir dir("sweep_bad");
  const std::string file = write_config(dir, tiny_config("b"));
  CliResult r = run_frugal("sweep --config " + file + " --grid train.epochs=1,lots -o " + dir.str("sw"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("epochs=lots"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "sw/00_epochs=1"));
  CliResult no_values = run_frugal("sweep --config " + file + " --grid train.epochs -o " + dir.str("sw"));
  EXPECT_EQ(no_values.exit_code, 2) << no_values.output;
}

// The sweep is SIGKILLed while its second run is past its first checkpoint; run again, it skips the
// first run and resumes the second from its newest checkpoint. The weights then equal an uninterrupted
// sweep's.
TEST(SweepCli, ASweepKilledMidRunResumesToTheSameWeights) {
  TempDir dir("sweep_kill");
  auto cfg = tiny_config("k");
  cfg["threads"] = 1;
  cfg["train"]["epochs"] = 12;
  cfg["data"]["synthetic"]["train_size"] = 512;
  const std::string file = write_config(dir, cfg);
  const std::vector<std::string> args = {"sweep", "--config", file, "--grid", "optimizer.lr=0.02,0.05", "-o",
                                         dir.str("killed")};
  const pid_t sweep = start_frugal(args, dir.str("first.log"));
  const fs::path second = dir.path() / "killed/01_lr=0.05";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(second / "checkpoint/state.json") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(kill(sweep, SIGKILL), 0);
  int status = 0;
  waitpid(sweep, &status, 0);
  ASSERT_TRUE(fs::exists(second / "checkpoint/state.json")) << read_text(dir.path() / "first.log");
  // The run itself gets SIGTERM when its parent dies (training/runs/child_process.cpp): it stops at the
  // next step with a checkpoint and a summary saying "interrupted", which the sweep continues, not skips.
  while (!fs::exists(second / "summary.json") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(fs::exists(second / "summary.json")) << read_text(second / "output.txt");
  ASSERT_EQ(read_json(second / "summary.json")["status"], "interrupted") << "the run finished before it was killed";
  const fs::path first_summary = dir.path() / "killed/00_lr=0.02/summary.json";
  ASSERT_TRUE(fs::exists(first_summary));
  const auto first_written = fs::last_write_time(first_summary);

  std::string resume_args;
  for (size_t i = 1; i < args.size(); ++i) resume_args += args[i] + " ";
  CliResult resumed = run_frugal(args[0] + " " + resume_args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("1 completed, 1 to resume, 0 to start"), std::string::npos) << resumed.output;
  EXPECT_EQ(fs::last_write_time(first_summary), first_written);

  CliResult straight = run_frugal("sweep --config " + file + " --grid optimizer.lr=0.02,0.05 -o " + dir.str("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  for (const char* run : {"00_lr=0.02", "01_lr=0.05"}) {
    EXPECT_TRUE(read_text(dir.path() / "straight" / run / "checkpoint/model.safetensors") ==
                read_text(dir.path() / "killed" / run / "checkpoint/model.safetensors"))
        << run;
    EXPECT_EQ(read_json(dir.path() / "straight" / run / "summary.json")["epochs_completed"], 12);
    EXPECT_EQ(read_json(dir.path() / "killed" / run / "summary.json")["epochs_completed"], 12);
  }
  EXPECT_EQ(read_json(dir.path() / "killed/sweep.json")["runs"][1]["status"], "completed");
}

TEST(CompareCli, TwoRunsGiveATableAndPlots) {
  TempDir dir("compare");
  auto cfg = tiny_config("c");
  const std::string file = write_config(dir, cfg);
  ASSERT_EQ(run_frugal("train --config " + file + " --output " + dir.str("slow")).exit_code, 0);
  ASSERT_EQ(run_frugal("train --config " + file + " --set optimizer.lr=0.2 --set name=fast --output " +
                       dir.str("fast")).exit_code, 0);
  CliResult r = run_frugal("compare " + dir.str("slow") + " " + dir.str("fast") + " -o " + dir.str("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string md = read_text(dir.path() / "out/compare.md");
  EXPECT_NE(r.output.find(md), std::string::npos) << "stdout shows the same table as compare.md";
  EXPECT_NE(md.find("| run | status | epochs | final acc | best acc | peak planned | stash | peak RSS | img/s |"),
            std::string::npos) << md;
  // One row per run with its final accuracy as summary.json has it.
  for (const char* run : {"slow", "fast"}) {
    const json summary = read_json(dir.path() / run / "summary.json");
    char acc[32];
    std::snprintf(acc, sizeof acc, "%.2f%%", summary["test"]["accuracy"].get<double>() * 100);
    const std::string name = run == std::string("slow") ? "c" : "fast";
    EXPECT_NE(md.find("| " + name + " | completed | 2 | " + acc + " |"), std::string::npos) << md;
    EXPECT_TRUE(fs::exists(dir.path() / run / "report.html"));
    const std::string report = read_text(dir.path() / run / "report.html");
    EXPECT_NE(report.find("Accuracy per epoch"), std::string::npos);
    EXPECT_NE(report.find("Memory report"), std::string::npos);
  }
  const std::string html = read_text(dir.path() / "out/compare.html");
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++charts;
  EXPECT_EQ(charts, 4u);
  EXPECT_NE(html.find("Pareto front"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "self-contained, no scripts";
  EXPECT_NE(html.find("href='../slow/report.html'"), std::string::npos);
}

TEST(CompareCli, ADirectoryWithoutRunsIsADataErrorNamingIt) {
  TempDir dir("compare_none");
  fs::create_directories(dir.path() / "empty");
  CliResult r = run_frugal("compare " + dir.str("empty"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(dir.str("empty")), std::string::npos) << r.output;
}

}  // namespace
}  // namespace frugal::e2e
