// Fuzz target: a checkpoint's state.json. A checkpoint of a small model is written once; each input
// replaces its state.json, which is loaded as `frugal train --resume` loads it, and the position it
// gives starts the training loader (epoch, batches to skip).
#include "datasets/loader.h"
#include "tests/fuzz/fuzz_support.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  static Scratch scratch("checkpoint_state");
  static frugal::Experiment experiment =
      frugal::build_experiment(tiny_experiment_config(), frugal::ExperimentUse::Train);
  static const bool saved = (frugal::save_checkpoint(scratch.path("checkpoint"), experiment, {}), true);
  (void)saved;
  scratch.write("checkpoint/state.json", std::string(reinterpret_cast<const char*>(data), size));
  return run_input([&] {
    const frugal::TrainingPosition position = frugal::load_checkpoint(scratch.path("checkpoint"), experiment);
    frugal::Loader loader(*experiment.train_data, frugal::train_loader_options(experiment.config));
    loader.start_epoch(position.epoch, position.batch_in_epoch);
    frugal::Batch batch;
    loader.next(batch);
  });
}
