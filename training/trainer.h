// The training loop: epochs (or a step budget), evaluation, progress lines, metrics.jsonl,
// checkpoints (training/checkpoint_store.h), the memory report and summary.json, all in the run
// directory.
#pragma once
#include <atomic>
#include <string>

#include <nlohmann/json.hpp>

#include "training/distributed/communicator.h"

namespace frugal {

struct TrainOptions {
  std::string run_dir;     // where everything is written
  bool resume = false;     // continue from the newest checkpoint in run_dir (from the start if none)
  std::string init_file;   // start from these weights (.safetensors), empty = fresh init
  // When set and non-zero (a signal number, set by a signal handler), the run stops at the next step
  // boundary with a checkpoint; the summary's status is then "interrupted".
  const std::atomic<int>* stop_signal = nullptr;
};

// Runs training for a resolved config; returns the summary (also written to summary.json). Output
// locations are checked before any work: IoError naming the path. With `comm`, one rank of a
// data-parallel job (docs/distributed.md): every rank calls this, rank 0 alone writes the run directory.
nlohmann::json run_training(const nlohmann::json& config, const TrainOptions& opts, Communicator* comm = nullptr);

// Evaluates a checkpoint on the test split; returns {"loss", "accuracy", "samples"}.
nlohmann::json run_evaluation(const nlohmann::json& config, const std::string& checkpoint);

// The run directory a config names: output.dir, or runs/<name> when empty.
std::string run_dir_for(const nlohmann::json& config);

}  // namespace frugal
