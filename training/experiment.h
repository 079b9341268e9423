// Everything one run needs, built from a resolved config: data, model (on the config's device),
// per-layer backward modes, executor, optimizer, learning-rate schedule and the step schedule.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "training/executor.h"
#include "training/graph.h"
#include "training/optim/lr_schedule.h"
#include "training/optim/optimizer.h"
#include "training/optim/parameter_slice.h"
#include "training/schedules/step_schedule.h"

namespace frugal {

class Communicator;
class DataParallel;

struct Experiment {
  Experiment();
  ~Experiment();  // out of line: DataParallel is only declared here
  Experiment(Experiment&&) noexcept;
  Experiment& operator=(Experiment&&) noexcept;

  nlohmann::json config;
  std::unique_ptr<Dataset> train_data, test_data;  // train_data null when built for evaluation only
  Shape sample_shape;
  int64_t num_classes = 0;
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  // Set when training over several processes (training/distributed/data_parallel_setup.h): the
  // step schedule is then a data-parallel one and the optimizer may hold this rank's shard only.
  std::unique_ptr<DataParallel> data_parallel;
  // How training steps run (set for training): plain, or MEM-DFA when backward.default.mode is
  // "mem_dfa" (with `optimizer` a PerLayerOptimizer it steps block by block; the executor then only
  // evaluates).
  std::unique_ptr<StepSchedule> step_schedule;
  int64_t steps_per_epoch = 0;
};

enum class ExperimentUse { Train, Evaluate };

// Refuses a config whose device cannot run here (no GPU, a CPU-only build) with the reason. Commands
// call it before they create any output, so a refused run leaves nothing behind.
void require_device(const nlohmann::json& config);

// With `comm` (training only), the experiment trains data-parallel over its ranks.
Experiment build_experiment(const nlohmann::json& config, ExperimentUse use, Communicator* comm = nullptr);

// The dataset options of a split from the "data" section.
DatasetOptions dataset_options(const nlohmann::json& config, Split split);

// The training loader's options from the "data" section: batch, shuffle, augmentation, normalisation.
LoaderOptions train_loader_options(const nlohmann::json& config);

// Sets OpenMP and OpenBLAS thread counts from the config's "threads" (0 = all cores).
void apply_thread_setting(int threads);

}  // namespace frugal
