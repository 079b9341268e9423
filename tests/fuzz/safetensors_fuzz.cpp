// Fuzz target: the safetensors reader, with what reads weights (into a model, by name and shape) and
// optimizer state (into AdamW) on top of it. Batches for `frugal step` go through the same reader.
#include <memory>

#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_support.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  static Scratch scratch("safetensors");
  static frugal::Experiment experiment =
      frugal::build_experiment(tiny_experiment_config(), frugal::ExperimentUse::Train);
  const std::string file = scratch.write("input.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  run_input([&] { frugal::load_weights(file, *experiment.graph); });
  return run_input([&] { experiment.optimizer->load_state(frugal::load_safetensors(file).tensors); });
}
