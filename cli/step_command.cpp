// frugal step --config F --init W.safetensors --batch B.safetensors --output OUT.safetensors
// One optimizer step on a given batch from given weights: for comparing against another framework
// (scripts/check_pytorch_parity.py). B holds "images" (F32 [N, C, H, W]) and "labels" (I32 or I64 [N]);
// OUT receives the updated weights, and the loss goes to OUT with .json appended and to stdout.
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

namespace frugal::cli {
namespace {

Tensor labels_as_i32(const std::string& file, const Tensor& labels) {
  if (labels.dtype() == DType::I32) return labels;
  if (labels.dtype() != DType::I64) throw DataError(file + ": 'labels' must be I32 or I64");
  Tensor out = Tensor::empty(labels.shape(), DType::I32);
  for (int64_t i = 0; i < labels.numel(); ++i) out.data<int32_t>()[i] = static_cast<int32_t>(labels.data<int64_t>()[i]);
  return out;
}

}  // namespace

Action add_step_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("step", "one training step on a given batch from given weights");
  struct Args {
    ConfigArgs config;
    std::string init, batch, output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config);
  cmd->add_option("--init", args->init, "weights (.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--batch", args->batch, "batch (.safetensors with images, labels)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", args->output, "updated weights (.safetensors)")->required();
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    nlohmann::json config = load_config_with_overrides(args->config);
    Experiment e = build_experiment(config, ExperimentUse::Train);
    load_weights(args->init, *e.graph);
    Tensor images, labels;
    for (auto& [name, t] : load_safetensors(args->batch).tensors) {
      if (name == "images") images = t;
      if (name == "labels") labels = t;
    }
    if (!images.defined() || !labels.defined()) throw DataError(args->batch + ": needs tensors 'images' and 'labels'");
    StepResult r = e.executor->train_step(images, labels_as_i32(args->batch, labels), 0, config.value("seed", uint64_t{0}));
    const float lr = e.schedule->lr_at(0);
    e.optimizer->step(lr);
    save_safetensors(args->output, model_state(*e.graph));
    nlohmann::json result = {{"loss", r.loss}, {"correct", r.correct}, {"lr", lr}};
    write_file_atomic(args->output + ".json", result.dump(2) + "\n");
    std::cout << result.dump() << "\n";
    return 0;
  };
}

}  // namespace frugal::cli
