// One checkpoint directory: model.safetensors (weights and buffers under PyTorch names and layouts),
// optimizer.safetensors (optimizer state and per-layer mode state) and state.json (epoch, step, batch
// position in the epoch, seed, config hash). The step recorded in each file is checked on load. A run
// keeps its checkpoints through training/checkpoint_store.h, which makes replacing one crash-safe.
#pragma once
#include <string>

#include "training/experiment.h"

namespace frugal {

struct TrainingPosition {
  int64_t epoch = 0;             // epochs completed
  int64_t batch_in_epoch = 0;    // batches of the current epoch already trained
  int64_t step = 0;              // global optimizer steps taken
  double best_test_accuracy = 0;
  double wall_seconds = 0;       // of all sessions so far
  int64_t world_size = 1;        // ranks the run trains on (read back; written from the experiment)
};

void save_checkpoint(const std::string& dir, Experiment& e, const TrainingPosition& pos);
// Restores weights, optimizer and mode state; returns the position. DataError/IoError naming the file
// (and the key of state.json or the tensor at fault).
TrainingPosition load_checkpoint(const std::string& dir, Experiment& e);
// The position recorded in dir/state.json alone. DataError naming the file and key.
TrainingPosition read_checkpoint_position(const std::string& dir);

// Copies weights (and BN buffers) from a .safetensors file by name; every model tensor must be present
// with the same shape. DataError naming the file and tensor otherwise.
void load_weights(const std::string& file, Graph& graph);
NamedTensors model_state(Graph& graph);

}  // namespace frugal
