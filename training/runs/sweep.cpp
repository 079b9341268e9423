#include "training/runs/sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "core/config/config_hash.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "training/checkpoint_store.h"
#include "training/config/frugal_schema.h"
#include "training/experiment.h"
#include "training/runs/child_process.h"
#include "training/runs/compare_report.h"
#include "training/runs/run_record.h"

namespace frugal {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct SweepRun {
  GridPoint point;
  json config;
  std::string hash;
  std::string dir;         // absolute
  std::string status;      // completed, resume, pending, running, failed
  int exit_code = 0;
};

// Holds sweep.lock; the runs inherit the descriptor, so the lock lasts until the sweep and its runs end.
class SweepLock {
 public:
  explicit SweepLock(const std::string& dir) {
    const std::string file = dir + "/sweep.lock";
    fd_ = open(file.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) throw IoError("cannot open " + file);
    // A run of a sweep that was just killed may take a moment to exit: wait a little for it.
    for (int tries = 0; flock(fd_, LOCK_EX | LOCK_NB) != 0; ++tries) {
      if (tries == 0) log().info("waiting for {} (another sweep, or the runs of one, still use it)", file);
      if (tries >= 100) {
        close(fd_);
        throw IoError("sweep directory " + dir + " is in use by another frugal sweep (" + file + " is locked)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~SweepLock() { close(fd_); }
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

// A run is done once its summary says it ended by itself. One stopped by a signal (summary status
// "interrupted") or killed continues from its newest complete checkpoint (training/checkpoint_store.h;
// a `checkpoint` folder of the older layout counts too: --resume migrates it).
std::string status_on_disk(const SweepRun& r) {
  const std::string summary_file = r.dir + "/summary.json";
  if (fs::exists(summary_file)) {
    const json summary = json::parse(read_file(summary_file), nullptr, false);
    if (summary.is_object() && summary.value("status", std::string()) != "interrupted") return "completed";
  }
  const CheckpointStore checkpoints(r.dir, r.config.at("output").at("keep_checkpoints").get<int64_t>());
  if (checkpoints.newest() || fs::is_regular_file(r.dir + "/checkpoint/state.json")) return "resume";
  return "pending";
}

json index_json(const SweepOptions& opts, const std::vector<SweepRun>& runs) {
  json grid = json::array();
  for (const GridAxis& axis : opts.grid) grid.push_back({{"key", axis.key}, {"values", axis.values}});
  json list = json::array();
  for (const SweepRun& r : runs) {
    json entry = {{"dir", r.point.dir_name},
                  {"label", r.point.label},
                  {"overrides", r.point.overrides},
                  {"config_hash", r.hash},
                  {"status", r.status}};
    if (r.status == "failed") entry["exit_code"] = r.exit_code;
    list.push_back(entry);
  }
  return {{"config", fs::absolute(opts.config_file).lexically_normal().string()},
          {"sets", opts.sets},
          {"grid", grid},
          {"runs", list}};
}

// An existing index must describe the same runs: same folders, same resolved configs.
void check_same_sweep(const std::string& index_file, const std::vector<SweepRun>& runs) {
  json old = json::parse(read_file(index_file), nullptr, false);
  if (old.is_discarded() || !old.contains("runs") || !old.at("runs").is_array())
    throw DataError(index_file + " is not a sweep index (JSON with a \"runs\" list)");
  const json& list = old.at("runs");
  auto refuse = [&](const std::string& why) {
    return ConfigError("the sweep directory holds a different sweep (" + index_file + "): " + why +
                       "; use another --output or delete the directory");
  };
  if (list.size() != runs.size())
    throw refuse(std::to_string(list.size()) + " runs there, " + std::to_string(runs.size()) + " in this grid");
  for (size_t i = 0; i < runs.size(); ++i) {
    if (list[i].value("dir", std::string()) != runs[i].point.dir_name)
      throw refuse("run " + std::to_string(i) + " is " + list[i].value("dir", std::string("?")) + " there, " +
                   runs[i].point.dir_name + " here");
    if (list[i].value("config_hash", std::string()) != runs[i].hash)
      throw refuse("the config of " + runs[i].point.dir_name + " changed");
  }
}

std::string outcome_text(const RunRecord& r) {
  auto acc = r.final_test_accuracy();
  char text[96];
  std::snprintf(text, sizeof text, "test accuracy %.2f%% (best %.2f%%)", acc ? *acc * 100 : 0.0,
                r.best_test_accuracy().value_or(0) * 100);
  return acc ? text : "no test accuracy";
}

}  // namespace

int run_sweep(const SweepOptions& opts) {
  if (opts.jobs < 1) throw ConfigError("--jobs must be >= 1, found " + std::to_string(opts.jobs));
  const std::vector<GridPoint> points = expand_grid(opts.grid);
  const json base = load_frugal_config(opts.config_file, opts.sets);
  const std::string base_name = base.at("name").get<std::string>();
  const std::string dir =
      fs::absolute(opts.dir.empty() ? "runs/" + base_name + "-sweep" : opts.dir).lexically_normal().string();

  // Every point's config is resolved and validated before anything runs.
  std::vector<SweepRun> runs;
  for (const GridPoint& p : points) {
    SweepRun r;
    r.point = p;
    r.dir = dir + "/" + p.dir_name;
    std::vector<std::string> sets = opts.sets;
    sets.insert(sets.end(), p.overrides.begin(), p.overrides.end());
    try {
      r.config = load_frugal_config(opts.config_file, sets);
      require_device(r.config);  // no GPU here, or a CPU-only build: refused before any run starts
    } catch (const ConfigError& e) {
      throw ConfigError("sweep point '" + p.label + "': " + e.what());
    }
    r.hash = config_hash(r.config);  // before the sweep's own name and folder, so a moved sweep still resumes
    r.config["name"] = base_name + "." + p.dir_name;
    r.config["output"]["dir"] = r.dir;
    runs.push_back(std::move(r));
  }

  fs::create_directories(dir);
  SweepLock lock(dir);
  const std::string index_file = dir + "/sweep.json";
  if (fs::exists(index_file)) check_same_sweep(index_file, runs);
  int done = 0, resumed = 0;
  for (SweepRun& r : runs) {
    r.status = status_on_disk(r);
    done += r.status == "completed";
    resumed += r.status == "resume";
  }
  auto save_index = [&] { write_file_atomic(index_file, index_json(opts, runs).dump(2) + "\n"); };
  save_index();
  log().info("sweep {}: {} runs ({} completed, {} to resume, {} to start), {} at a time", dir, runs.size(), done,
             resumed, runs.size() - done - resumed, opts.jobs);

  std::map<pid_t, size_t> active;
  size_t next = 0;
  int first_failure = 0;
  const std::string count = std::to_string(runs.size());
  auto start = [&](size_t i) {
    SweepRun& r = runs[i];
    fs::create_directories(r.dir);
    std::vector<std::string> argv = {opts.frugal_binary, "train"};
    if (r.status == "resume") {
      argv.insert(argv.end(), {"--resume", r.dir});
    } else {
      write_file_atomic(r.dir + "/config.json", r.config.dump(2) + "\n");
      argv.insert(argv.end(), {"--config", r.dir + "/config.json", "--output", r.dir});
    }
    log().info("[{}/{}] {} {} in {}", i + 1, count, r.status == "resume" ? "resume" : "start", r.point.label,
               r.dir);
    r.status = "running";
    active[start_child(argv, r.dir + "/output.txt")] = i;
  };
  while (true) {
    while (static_cast<int>(active.size()) < opts.jobs && next < runs.size()) {
      if (runs[next].status != "completed") start(next);
      ++next;
    }
    if (active.empty()) break;
    save_index();
    const ChildExit e = wait_for_child();
    auto it = active.find(e.pid);
    if (it == active.end()) continue;
    SweepRun& r = runs[it->second];
    const size_t i = it->second;
    active.erase(it);
    if (e.exit_code == 0 && fs::exists(r.dir + "/summary.json")) {
      r.status = "completed";
      log().info("[{}/{}] done {}: {}", i + 1, count, r.point.label, outcome_text(read_run(r.dir)));
    } else {
      r.status = "failed";
      r.exit_code = e.signal ? 128 + e.signal : e.exit_code;
      if (first_failure == 0) first_failure = e.exit_code == 2 ? 2 : 1;
      log().error("[{}/{}] FAILED {} ({}); its output is in {}/output.txt", i + 1, count, r.point.label,
                  e.signal ? "signal " + std::to_string(e.signal) : "exit code " + std::to_string(e.exit_code),
                  r.dir);
    }
    save_index();
  }
  save_index();
  const std::vector<RunRecord> records = collect_runs({dir});
  write_comparison(records, dir);
  std::printf("%s\n", compare_markdown(records).c_str());
  log().info("sweep {}: comparison in {}/compare.md and compare.html", dir, dir);
  return first_failure;
}

}  // namespace frugal
