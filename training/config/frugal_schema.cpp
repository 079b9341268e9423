#include "training/config/frugal_schema.h"

#include <cfloat>
#include <cstdint>

#include "datasets/dataset.h"
#include "memory/planner.h"
#include "ops/activation_spec.h"
#include "training/models/models.h"
#include "training/modes/registry.h"
#include "training/optim/lr_schedule.h"
#include "training/optim/optimizer_factory.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// Upper bounds of sizes. Beyond them no machine has the memory, and products of them (elements of a
// batch, bytes of a weight) could overflow 64-bit counts before any allocation fails cleanly.
constexpr double kMaxBatch = 1 << 20;        // examples in a batch
constexpr double kMaxWidth = 1 << 20;        // features, channels, hidden widths, groups
constexpr double kMaxClasses = 1 << 20;
constexpr double kMaxSide = 1 << 16;         // one dimension of an image (and of a synthetic example)
constexpr double kMaxExamples = UINT32_MAX;  // examples in a (synthetic) dataset split: the shuffle draws 32-bit indices
constexpr double kMaxKernel = 1 << 10;       // kernel, stride, padding, dilation of a layer
constexpr double kMaxEpochs = 1 << 20;
constexpr double kMaxSteps = 1LL << 40;
constexpr double kMaxThreads = 1 << 12;
constexpr double kMaxPrefetch = 64;          // batches held ahead by the loader
constexpr double kMaxDepth = 1 << 14;        // resnet depth
constexpr double kMaxProbes = 1 << 16;
constexpr double kMaxBudgetMb = 1LL << 40;   // 1 EiB: keeps the budget in bytes within 64 bits
// Every real-valued setting becomes a float: larger magnitudes have no float value.
constexpr double kMaxFloat = FLT_MAX;

Schema count(long long at_least, double at_most) {
  return Schema::integer().min(static_cast<double>(at_least)).max(at_most);
}
Schema fraction_below_one() { return Schema::number().min(0).max_exclusive(1); }  // [0, 1)
Schema positive() { return Schema::number().min_exclusive(0).max(kMaxFloat); }
Schema non_negative() { return Schema::number().min(0).max(kMaxFloat); }
Schema real() { return Schema::number().min(-kMaxFloat).max(kMaxFloat); }

Schema data_section() {
  return Schema::object({
      {"dataset",
Schema::enumeration(dataset_names()).required()},
      {"path", Schema::path().def("").describe("dataset folder; required unless synthetic")},
      {"label_type", Schema::enumeration({"fine", "coarse"}).def("fine").describe("cifar100 labels")},
      {"batch_size", count(1, kMaxBatch).def(128)},
      {"test_batch_size", count(1, kMaxBatch).def(500)},
      {"train_limit", count(0, kMaxExamples).def(0).describe("use the first N training examples; 0 = all")},
      {"test_limit", count(0, kMaxExamples).def(0).describe("use the first N test examples; 0 = all")},
      {"drop_last", Schema::boolean().def(true)},
      {"prefetch", count(0, kMaxPrefetch).def(1).describe("batches prepared ahead by the loader thread")},
      {"workers", count(1, kMaxThreads).def(1).describe("threads decoding and augmenting each batch")},
      {"corrupt_images", Schema::enumeration({"error", "skip"}).def("error")
                             .describe("image_folder: an undecodable file stops the run, or is logged and replaced")},
      {"image_size", count(0, kMaxSide).def(0).describe("image_folder: crop size in pixels (required there)")},
      {"synthetic", Schema::object({
                        {"shape", Schema::array(count(1, kMaxSide)).min_length(1).max_length(3).def({1, 28, 28})
                                      .describe("one example's shape, CHW; [H, W] and [F] mean C (and H) = 1")},
                        {"classes", count(2, kMaxClasses).def(10)},
                        {"train_size", count(1, kMaxExamples).def(2048)},
                        {"test_size", count(1, kMaxExamples).def(512)},
                    })},
      {"augment", Schema::object({
                      {"crop_padding", count(0, kMaxKernel).def(0).describe("random crop after zero padding, pixels")},
                      {"horizontal_flip", Schema::boolean().def(false)},
                      {"random_resized_crop", Schema::boolean().def(false)
                                                  .describe("image_folder: torchvision's RandomResizedCrop")},
                      {"crop_scale", Schema::array(Schema::number().min_exclusive(0).max(1)).length(2)
                                         .def({0.08, 1.0})
                                         .describe("random_resized_crop: [min, max] fraction of the area")},
                      {"crop_ratio", Schema::array(positive()).length(2).def({0.75, 4.0 / 3.0})
                                         .describe("random_resized_crop: [min, max] width / height")},
                  })},
      {"normalize", Schema::object({
                        {"mean", Schema::array(real()).def(json::array()).describe("per channel; [] = no normalization")},
                        {"std", Schema::array(positive()).def(json::array()).describe("per channel")},
                    })},
  });
}

// One entry of model.layers for arch "sequential". Absent knobs take the layer's own defaults.
Schema layer_entry() {
  return Schema::object({
      {"type", Schema::enumeration(sequential_layer_types()).required()},
      {"name", Schema::string().describe("parameter prefix; default: the layer's index")},
      {"out_channels", count(1, kMaxWidth)},
      {"out_features", count(1, kMaxWidth)},
      {"kernel", count(1, kMaxKernel)},
      {"stride", count(1, kMaxKernel)},
      {"padding", count(0, kMaxKernel)},
      {"dilation", count(1, kMaxKernel)},
      {"groups", count(1, kMaxWidth)},
      {"bias", Schema::boolean()},
      {"p", fraction_below_one().describe("dropout probability")},
      {"alpha", real().describe("leaky_relu slope, elu scale")},
      {"eps", positive()},
      {"momentum", Schema::number().min(0).max(1)},
  });
}

Schema model_section() {
  return Schema::object({
      {"arch", Schema::enumeration(model_architectures()).required()},
      {"num_classes", count(0, kMaxClasses).def(0).describe("0 = from the dataset")},
      {"hidden", Schema::array(count(1, kMaxWidth)).def({256}).describe("mlp: hidden layer widths")},
      {"activation", Schema::enumeration(activation_names()).def("relu")},
      {"depth", count(1, kMaxDepth).def(20).describe("resnet: 6n+2 (20, 32, 56, 110); preact_resnet: 9n+2 (164)")},
      {"width", count(1, kMaxWidth).def(16).describe("channels of the first stage")},
      {"channels", Schema::array(count(1, kMaxWidth)).def({32, 64}).describe("cnn: conv channels per stage")},
      {"dropout", fraction_below_one().def(0)},
      {"batch_norm", Schema::boolean().def(true)},
      {"cifar_stem", Schema::boolean().def(true).describe("3x3 stem without max-pool, for 32x32 inputs")},
      {"layers", Schema::array(layer_entry()).def(json::array()).describe("arch sequential: the layers")},
  });
}

// How one layer (or the default) computes its backward pass. Knobs have no schema defaults: each mode
// fills in its own.
std::vector<SchemaField> mode_entry_fields() {
  return {
      {"mode", Schema::enumeration(registered_backward_modes()).def("exact")},
      {"bits", Schema::integer().min(1).max(8)},
      {"weighting", Schema::enumeration({"normal", "uniform"})},
      {"probes", count(1, kMaxProbes)},
      {"probe_mode", Schema::enumeration({"independent", "gaussian", "orthogonal"})},
      {"probe_distribution", Schema::enumeration({"rademacher", "gaussian"})},
      {"k", count(1, kMaxBatch)},
      {"k_fraction", Schema::number().min_exclusive(0).max(1)},
      {"policy", Schema::enumeration({"topk", "weighted", "random"})},
      {"memory", Schema::boolean()},
      {"decay", Schema::number().min(0).max(1)},
      {"feedback_distribution", Schema::enumeration({"uniform", "gaussian"})},
      {"feedback_scale", positive()},
  };
}

Schema backward_section() {
  std::vector<SchemaField> per_layer = {
      {"match", Schema::string().required().describe("glob over layer names, e.g. \"layer3.*.conv*\"")}};
  for (SchemaField& field : mode_entry_fields()) per_layer.push_back(std::move(field));
  Schema auto_options = Schema::object({
      {"candidates", Schema::array(Schema::string()).def(json::array())
                         .describe("modes to choose from, as name[:knob=value...]; [] = the default set")},
      {"max_slowdown", Schema::number().min(1).max(kMaxFloat).def(2.0).describe("predicted step time over exact's, at most")},
      {"error_batches", count(1, 1 << 16).def(1).describe("training batches the gradient error is measured on")},
      {"split_batch", Schema::boolean().def(true).describe(
           "where no assignment fits, split each step into 2, 4, ... passes (train.micro_batches)")},
      {"cache_dir", Schema::path().def("").describe("where measurements are kept; \"\" = the run directory")},
  });
  return Schema::object({
      {"default", Schema::object(mode_entry_fields()).describe("mode of layers no entry matches")},
      {"layers", Schema::array(Schema::object(per_layer)).def(json::array()).describe("first match wins")},
      {"auto", Schema::any_of({Schema::boolean(), auto_options})
                   .describe("true or options: choose each layer's mode to fit memory.budget_mb "
                             "(docs/memory_budget.md); backward.layers entries stay fixed")},
  });
}

Schema memory_section() {
  return Schema::object({
      {"planner", Schema::enumeration(planner_names()).def("static")},
      {"budget_mb",
       Schema::number().min(0).max(kMaxBudgetMb).def(0).describe(
           "the whole process's predicted peak (training step, evaluation, data, libraries); fail before "
           "training when it is exceeded, or fit it with backward.auto; 0 = none")},
  });
}

Schema optimizer_section() {
  return Schema::object({
      {"name", Schema::enumeration(optimizer_names()).def("sgd")},
      {"lr", positive().def(0.1)},
      {"momentum", fraction_below_one().def(0.9)},
      {"nesterov", Schema::boolean().def(false)},
      {"weight_decay", non_negative().def(5e-4)},
      {"betas", Schema::array(fraction_below_one()).length(2).def({0.9, 0.999}).describe("adamw")},
      {"eps", positive().def(1e-8).describe("adamw")},
      {"decay_bn_and_bias", Schema::boolean().def(true).describe("false: no weight decay on BN and biases")},
  });
}

Schema schedule_section() {
  return Schema::object({
      {"name", Schema::enumeration(lr_schedule_names()).def("constant")},
      {"milestones",
       Schema::array(count(1, kMaxEpochs)).def(json::array()).describe("multistep: epochs where lr *= gamma")},
      {"gamma", positive().def(0.1)},
      {"warmup_epochs", Schema::number().min(0).max(kMaxEpochs).def(0).describe("linear warm-up from 0")},
      {"min_lr", non_negative().def(0).describe("cosine: final lr")},
  });
}

Schema train_section() {
  return Schema::object({
      {"epochs", count(1, kMaxEpochs).def(10)},
      {"max_steps", count(0, kMaxSteps).def(0).describe("stop after this many steps; 0 = no limit")},
      {"log_every", count(1, kMaxSteps).def(50).describe("steps")},
      {"label_smoothing", fraction_below_one().def(0)},
      {"eval_every", count(1, kMaxEpochs).def(1).describe("epochs")},
      {"checkpoint_every", count(0, kMaxEpochs).def(1).describe("epochs; 0 = only at the end")},
      {"micro_batches", count(1, kMaxBatch).def(1).describe(
           "passes per step, each over batch_size / micro_batches samples, gradients accumulated; must "
           "divide data.batch_size (docs/memory_budget.md)")},
  });
}

Schema output_section() {
  return Schema::object({
      {"dir", Schema::string().def("").describe("run folder; \"\" = runs/<name>, filled in by the trainer")},
      {"keep_checkpoints", count(1, kMaxEpochs).def(1).describe("the newest K checkpoints stay in checkpoints/")},
  });
}

Schema distributed_section() {
  return Schema::object({
      {"sync_batchnorm", Schema::boolean().def(false).describe("BatchNorm statistics over every rank's batch")},
      {"shard_optimizer_state",
       Schema::boolean().def(false).describe("ZeRO-1: each rank keeps and updates 1/N of the optimizer state")},
      {"shard_gradients",
       Schema::boolean().def(false).describe("ZeRO-2: reduce-scatter into 1/N of the gradients (needs ZeRO-1)")},
      {"bucket_mb", positive().def(0.25).describe("gradients reduced per collective, MiB")},
      {"timeout_s", positive().def(300).describe("longest wait of any collective before the job ends")},
  });
}

Schema cuda_section() {
  return Schema::object({
      {"deterministic", Schema::boolean().def(true).describe(
                            "device cuda: only library algorithms that give the same bits run to run; false "
                            "allows faster non-deterministic ones (docs/gpu.md)")},
  });
}

Schema build_frugal_schema() {
  return Schema::object({
      {"name", Schema::string().required().describe("run name")},
      {"seed", Schema::integer().min(0).max(static_cast<double>(UINT64_MAX)).def(0)},
      {"device", Schema::enumeration({"cpu", "cuda"}).def("cpu")},
      {"threads", count(0, kMaxThreads).def(0).describe("OpenMP threads; 0 = all cores")},
      {"cuda", cuda_section()},
      {"data", data_section()},
      {"model", model_section()},
      {"backward", backward_section()},
      {"memory", memory_section()},
      {"optimizer", optimizer_section()},
      {"schedule", schedule_section()},
      {"train", train_section()},
      {"output", output_section()},
      {"distributed", distributed_section().describe("data-parallel runs (mpirun/srun), docs/distributed.md")},
  });
}

}  // namespace

const Schema& frugal_config_schema() {
  static const Schema schema = build_frugal_schema();
  return schema;
}

json load_frugal_config(const std::string& file, const std::vector<std::string>& overrides) {
  return load_config(file, frugal_config_schema(), overrides);
}

}  // namespace frugal
