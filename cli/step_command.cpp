// frugal step --config F --init W.safetensors --batch B.safetensors --output OUT.safetensors
// One optimizer step on a given batch from given weights: for comparing against another framework
// (scripts/check_pytorch_parity.py). B holds "images" (F32 [N, C, H, W]) and "labels" (I32 or I64 [N]);
// OUT receives the updated weights, and the loss goes to OUT with .json appended and to stdout.
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/io/safetensors.h"
#include "training/checkpoint.h"
#include "training/experiment.h"

namespace frugal::cli {
namespace {

// The batch's labels as I32 [N], each a class of the model. DataError naming the file and tensor.
Tensor checked_labels(const std::string& file, const Tensor& labels, int64_t n, int64_t classes) {
  if (labels.dtype() != DType::I32 && labels.dtype() != DType::I64)
    throw DataError(file + ": tensor 'labels' has dtype " + dtype_name(labels.dtype()) + ", expected I32 or I64");
  if (labels.ndim() != 1 || labels.dim(0) != n)
    throw DataError(file + ": tensor 'labels' has shape " + labels.shape().str() + ", expected [" +
                    std::to_string(n) + "] (one per image)");
  Tensor out = Tensor::empty(labels.shape(), DType::I32);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = labels.dtype() == DType::I32 ? labels.data<int32_t>()[i] : labels.data<int64_t>()[i];
    if (v < 0 || v >= classes)
      throw DataError(file + ": tensor 'labels' holds " + std::to_string(v) + " at index " + std::to_string(i) +
                      ", expected a class in [0, " + std::to_string(classes) + ")");
    out.data<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return out;
}

// The batch's images: F32 [N, C, H, W] with the model's example shape. DataError naming file and tensor.
void check_images(const std::string& file, const Tensor& images, const Shape& sample) {
  if (images.dtype() != DType::F32)
    throw DataError(file + ": tensor 'images' has dtype " + dtype_name(images.dtype()) + ", expected F32");
  bool ok = images.ndim() == sample.ndim() + 1 && images.dim(0) > 0;
  for (int i = 0; ok && i < sample.ndim(); ++i) ok = images.dim(i + 1) == sample[i];
  if (!ok)
    throw DataError(file + ": tensor 'images' has shape " + images.shape().str() + ", expected [N, " +
                    sample.str().substr(1));
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
    check_output_file(args->output);
    check_output_file(args->output + ".json");
    Experiment e = build_experiment(config, ExperimentUse::Train);
    load_weights(args->init, *e.graph);
    Tensor images, labels;
    for (auto& [name, t] : load_safetensors(args->batch).tensors) {
      if (name == "images") images = t;
      if (name == "labels") labels = t;
    }
    if (!images.defined() || !labels.defined()) throw DataError(args->batch + ": needs tensors 'images' and 'labels'");
    check_images(args->batch, images, e.sample_shape);
    Tensor label_values = checked_labels(args->batch, labels, images.dim(0), e.num_classes);
    StepResult r = e.executor->train_step(images, label_values, 0, config.at("seed").get<uint64_t>());
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
