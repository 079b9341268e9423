#include "training/config/frugal_schema.h"

namespace frugal {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kActivations = {"relu", "leaky_relu", "gelu", "silu",
                                               "tanh", "sigmoid",    "elu",  "softplus"};

Schema count(long long at_least) { return Schema::integer().min(static_cast<double>(at_least)); }
Schema fraction_below_one() { return Schema::number().min(0).max_exclusive(1); }  // [0, 1)
Schema positive() { return Schema::number().min_exclusive(0); }
Schema empty_array() { return Schema::array(Schema::number()).def(json::array()); }

Schema data_section() {
  return Schema::object({
      {"dataset",
       Schema::enumeration({"fashion_mnist", "mnist", "cifar10", "cifar100", "image_folder", "synthetic"})
           .required()},
      {"path", Schema::path().def("").describe("dataset folder; required unless synthetic")},
      {"label_type", Schema::enumeration({"fine", "coarse"}).def("fine").describe("cifar100 labels")},
      {"batch_size", count(1).def(128)},
      {"test_batch_size", count(1).def(500)},
      {"train_limit", count(0).def(0).describe("use the first N training examples; 0 = all")},
      {"test_limit", count(0).def(0).describe("use the first N test examples; 0 = all")},
      {"drop_last", Schema::boolean().def(true)},
      {"prefetch", count(0).def(1).describe("batches prepared ahead by the loader thread")},
      {"workers", count(1).def(1).describe("threads decoding and augmenting each batch")},
      {"corrupt_images", Schema::enumeration({"error", "skip"}).def("error")
                             .describe("image_folder: an undecodable file stops the run, or is logged and replaced")},
      {"image_size", count(0).def(0).describe("image_folder: crop size in pixels; 0 = dataset default")},
      {"synthetic", Schema::object({
                        {"shape", Schema::array(count(1)).min_length(1).max_length(3).def({1, 28, 28})
                                      .describe("one example's shape, CHW")},
                        {"classes", count(2).def(10)},
                        {"train_size", count(1).def(2048)},
                        {"test_size", count(1).def(512)},
                    })},
      {"augment", Schema::object({
                      {"crop_padding", count(0).def(0).describe("random crop after zero padding, pixels")},
                      {"horizontal_flip", Schema::boolean().def(false)},
                      {"random_resized_crop", Schema::boolean().def(false)
                                                  .describe("image_folder: torchvision's RandomResizedCrop")},
                      {"crop_scale", Schema::array(positive()).length(2).def({0.08, 1.0})
                                         .describe("random_resized_crop: [min, max] fraction of the area")},
                      {"crop_ratio", Schema::array(positive()).length(2).def({0.75, 4.0 / 3.0})
                                         .describe("random_resized_crop: [min, max] width / height")},
                  })},
      {"normalize", Schema::object({
                        {"mean", empty_array().describe("per channel; [] = no normalization")},
                        {"std", Schema::array(positive()).def(json::array()).describe("per channel")},
                    })},
  });
}

// One entry of model.layers for arch "sequential". Absent knobs take the layer's own defaults.
Schema layer_entry() {
  std::vector<std::string> types = {"conv2d", "linear", "batchnorm2d", "batchnorm1d"};
  types.insert(types.end(), kActivations.begin(), kActivations.end());
  for (const char* t : {"maxpool2d", "avgpool2d", "global_avgpool", "dropout", "flatten"}) types.push_back(t);
  return Schema::object({
      {"type", Schema::enumeration(types).required()},
      {"name", Schema::string().describe("parameter prefix; default: the layer's index")},
      {"out_channels", count(1)},
      {"out_features", count(1)},
      {"kernel", count(1)},
      {"stride", count(1)},
      {"padding", count(0)},
      {"dilation", count(1)},
      {"groups", count(1)},
      {"bias", Schema::boolean()},
      {"p", fraction_below_one().describe("dropout probability")},
      {"alpha", Schema::number().describe("leaky_relu slope, elu scale")},
      {"eps", positive()},
      {"momentum", Schema::number().min(0).max(1)},
  });
}

Schema model_section() {
  return Schema::object({
      {"arch", Schema::enumeration({"mlp", "cnn", "resnet", "preact_resnet", "resnet18", "resnet34",
                                    "resnet50", "resnet101", "resnet152", "vgg11", "vgg16", "sequential"})
                   .required()},
      {"num_classes", count(0).def(0).describe("0 = from the dataset")},
      {"hidden", Schema::array(count(1)).def({256}).describe("mlp: hidden layer widths")},
      {"activation", Schema::enumeration(kActivations).def("relu")},
      {"depth", count(1).def(20).describe("resnet: 6n+2 (20, 32, 56, 110); preact_resnet: 9n+2 (164)")},
      {"width", count(1).def(16).describe("channels of the first stage")},
      {"channels", Schema::array(count(1)).def({32, 64}).describe("cnn: conv channels per stage")},
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
      {"mode", Schema::enumeration({"exact", "quantized", "fewbit", "randomized_trace", "outer_product", "fa",
                                    "dfa", "mem_dfa"})
                   .def("exact")},
      {"bits", Schema::integer().min(1).max(8)},
      {"weighting", Schema::enumeration({"normal", "uniform"})},
      {"probes", count(1)},
      {"probe_mode", Schema::enumeration({"independent", "gaussian", "orthogonal"})},
      {"probe_distribution", Schema::enumeration({"rademacher", "gaussian"})},
      {"k", count(1)},
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
  return Schema::object({
      {"default", Schema::object(mode_entry_fields()).describe("mode of layers no entry matches")},
      {"layers", Schema::array(Schema::object(per_layer)).def(json::array()).describe("first match wins")},
  });
}

Schema memory_section() {
  return Schema::object({
      {"planner", Schema::enumeration({"naive", "pool", "static"}).def("static")},
      {"budget_mb",
       Schema::number().min(0).def(0).describe("fail before training when the plan exceeds it; 0 = none")},
  });
}

Schema optimizer_section() {
  return Schema::object({
      {"name", Schema::enumeration({"sgd", "adamw"}).def("sgd")},
      {"lr", positive().def(0.1)},
      {"momentum", fraction_below_one().def(0.9)},
      {"nesterov", Schema::boolean().def(false)},
      {"weight_decay", Schema::number().min(0).def(5e-4)},
      {"betas", Schema::array(fraction_below_one()).length(2).def({0.9, 0.999}).describe("adamw")},
      {"eps", positive().def(1e-8).describe("adamw")},
      {"decay_bn_and_bias", Schema::boolean().def(true).describe("false: no weight decay on BN and biases")},
  });
}

Schema schedule_section() {
  return Schema::object({
      {"name", Schema::enumeration({"constant", "multistep", "cosine"}).def("constant")},
      {"milestones",
       Schema::array(count(1)).def(json::array()).describe("multistep: epochs where lr *= gamma")},
      {"gamma", positive().def(0.1)},
      {"warmup_epochs", Schema::number().min(0).def(0).describe("linear warm-up from 0")},
      {"min_lr", Schema::number().min(0).def(0).describe("cosine: final lr")},
  });
}

Schema train_section() {
  return Schema::object({
      {"epochs", count(1).def(10)},
      {"max_steps", count(0).def(0).describe("stop after this many steps; 0 = no limit")},
      {"log_every", count(1).def(50).describe("steps")},
      {"label_smoothing", fraction_below_one().def(0)},
      {"eval_every", count(1).def(1).describe("epochs")},
      {"checkpoint_every", count(0).def(1).describe("epochs; 0 = only at the end")},
  });
}

Schema output_section() {
  return Schema::object({
      {"dir", Schema::string().def("").describe("run folder; \"\" = runs/<name>, filled in by the trainer")},
      {"keep_checkpoints", count(1).def(1)},
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
      {"seed", count(0).def(0)},
      {"device", Schema::enumeration({"cpu", "cuda"}).def("cpu")},
      {"threads", count(0).def(0).describe("OpenMP threads; 0 = all cores")},
      {"cuda", cuda_section()},
      {"data", data_section()},
      {"model", model_section()},
      {"backward", backward_section()},
      {"memory", memory_section()},
      {"optimizer", optimizer_section()},
      {"schedule", schedule_section()},
      {"train", train_section()},
      {"output", output_section()},
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
