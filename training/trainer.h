// The training loop: epochs (or a step budget), evaluation, progress lines, metrics.jsonl,
// checkpoints, the memory report and summary.json, all in the run directory.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace frugal {

struct TrainOptions {
  std::string run_dir;     // where everything is written
  bool resume = false;     // continue from run_dir/checkpoint
  std::string init_file;   // start from these weights (.safetensors), empty = fresh init
  // The backward.auto plan the config's backward section came from (training/budget/auto_plan.h), for
  // the log and the memory report; null when the modes were not chosen automatically.
  nlohmann::json auto_plan;
};

// Runs training for a resolved config; returns the summary (also written to summary.json).
nlohmann::json run_training(const nlohmann::json& config, const TrainOptions& opts);

// Evaluates a checkpoint on the test split; returns {"loss", "accuracy", "samples"}.
nlohmann::json run_evaluation(const nlohmann::json& config, const std::string& checkpoint);

// The run directory a config names: output.dir, or runs/<name> when empty.
std::string run_dir_for(const nlohmann::json& config);

}  // namespace frugal
