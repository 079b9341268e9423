// The training loop: epochs (or a step budget), evaluation, progress lines, metrics.jsonl,
// checkpoints, the memory report and summary.json, all in the run directory.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "training/distributed/communicator.h"

namespace frugal {

struct TrainOptions {
  std::string run_dir;     // where everything is written
  bool resume = false;     // continue from run_dir/checkpoint
  std::string init_file;   // start from these weights (.safetensors), empty = fresh init
};

// Runs training for a resolved config; returns the summary (also written to summary.json). With `comm`,
// one rank of a data-parallel job (docs/distributed.md): every rank calls this, rank 0 alone writes the
// run directory.
nlohmann::json run_training(const nlohmann::json& config, const TrainOptions& opts, Communicator* comm = nullptr);

// Evaluates a checkpoint on the test split; returns {"loss", "accuracy", "samples"}.
nlohmann::json run_evaluation(const nlohmann::json& config, const std::string& checkpoint);

// The run directory a config names: output.dir, or runs/<name> when empty.
std::string run_dir_for(const nlohmann::json& config);

}  // namespace frugal
