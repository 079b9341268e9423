// What a finished (or interrupted) run directory holds, read back for comparisons and reports:
// config.json, summary.json, metrics.jsonl (one line per epoch) and memory.json. Any of them may be
// missing (a run killed before its first epoch has only config.json); the accessors then say so.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal {

struct RunRecord {
  std::string dir;
  std::string label;        // the sweep's label of the run, else the config's name, else the folder name
  nlohmann::json config;    // null when absent
  nlohmann::json summary;   // null while the run has not finished
  nlohmann::json memory;    // memory.json, null when absent
  std::vector<nlohmann::json> epochs;  // metrics.jsonl, in order

  // summary.status ("completed", "max_steps"), else "partial" (some epochs) or "not started".
  std::string status() const;
  std::optional<double> final_test_accuracy() const;  // fraction
  std::optional<double> best_test_accuracy() const;
  std::optional<double> final_test_loss() const;
  std::optional<double> peak_planned_bytes() const;  // memory.json peak_bytes: the whole training step
  std::optional<double> stash_bytes() const;         // memory.json extra.total_stash_bytes
  std::optional<double> peak_rss_bytes() const;
  std::optional<double> images_per_second() const;
  // Training seconds per optimizer step over every epoch in metrics.jsonl (all sessions of a resumed run).
  std::optional<double> step_seconds() const;
  std::optional<double> wall_seconds() const;  // summary.wall_seconds (the last session)
  // The backward modes of the layers, most common first: "quantized(bits=4) x19, exact x3".
  std::string backward_modes() const;
  // (epoch, value) for a metrics.jsonl key, skipping epochs without it.
  std::vector<std::pair<double, double>> curve(const std::string& key) const;
};

// Reads one run directory; DataError naming the file when a present file is not valid JSON.
RunRecord read_run(const std::string& dir, const std::string& label = "");

bool is_run_dir(const std::string& dir);    // has config.json, summary.json or metrics.jsonl
bool is_sweep_dir(const std::string& dir);  // has sweep.json

// The runs behind each argument, in order: a run directory is itself; a sweep directory gives its runs
// in the order of its index (sweep.json), labelled by their grid values; any other directory gives the
// run directories directly inside it, sorted by name. DataError naming an argument that holds no run.
std::vector<RunRecord> collect_runs(const std::vector<std::string>& dirs);

}  // namespace frugal
