#include "training/experiment.h"

#include <omp.h>

#include "core/error.h"
#include "training/models/models.h"
#include "training/modes/registry.h"
#include "training/optim/adamw.h"
#include "training/optim/sgd.h"
#include "training/schedules/mem_dfa_schedule.h"
#include "training/schedules/plain_schedule.h"

extern "C" void openblas_set_num_threads(int);

namespace frugal {

void apply_thread_setting(int threads) {
  int n = threads > 0 ? threads : omp_get_num_procs();
  omp_set_num_threads(n);
  // frugal parallelises with OpenMP around single-threaded GEMMs; OpenBLAS's own pool would only spin.
  openblas_set_num_threads(1);
}

DatasetOptions dataset_options(const nlohmann::json& config, Split split) {
  const auto& d = config.at("data");
  DatasetOptions o;
  o.dataset = d.at("dataset").get<std::string>();
  o.path = d.value("path", std::string());
  o.label_type = d.value("label_type", std::string("fine"));
  o.limit = d.value(split == Split::Train ? "train_limit" : "test_limit", int64_t{0});
  o.image_size = d.value("image_size", int64_t{0});
  o.skip_corrupt = d.value("corrupt_images", std::string("error")) == "skip";
  o.seed = config.value("seed", uint64_t{0});
  if (d.contains("synthetic")) {
    const auto& s = d.at("synthetic");
    o.synthetic_shape = s.value("shape", std::vector<int64_t>{1, 28, 28});
    o.synthetic_classes = s.value("classes", int64_t{10});
    o.synthetic_size = s.value(split == Split::Train ? "train_size" : "test_size", int64_t{2048});
  }
  return o;
}

LoaderOptions train_loader_options(const nlohmann::json& config) {
  const auto& d = config.at("data");
  LoaderOptions lo;
  lo.batch_size = d.value("batch_size", int64_t{128});
  lo.shuffle = true;
  lo.drop_last = d.value("drop_last", true);
  lo.seed = config.value("seed", uint64_t{0});
  lo.crop_padding = d.at("augment").value("crop_padding", int64_t{0});
  lo.horizontal_flip = d.at("augment").value("horizontal_flip", false);
  lo.mean = d.at("normalize").value("mean", std::vector<float>{});
  lo.std = d.at("normalize").value("std", std::vector<float>{});
  lo.prefetch = d.value("prefetch", 1);
  lo.workers = d.value("workers", 1);
  const auto& augment = d.at("augment");
  lo.random_resized_crop = augment.value("random_resized_crop", false);
  const auto scale = augment.value("crop_scale", std::vector<double>{0.08, 1.0});
  const auto ratio = augment.value("crop_ratio", std::vector<double>{0.75, 4.0 / 3.0});
  lo.crop = {scale.at(0), scale.at(1), ratio.at(0), ratio.at(1)};
  return lo;
}

namespace {

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& config, const std::vector<Parameter*>& params) {
  const auto& o = config.at("optimizer");
  const bool decay_all = o.value("decay_bn_and_bias", true);
  // Biases and BN parameters are the 1-D tensors; exempt them from weight decay when asked.
  for (Parameter* p : params) p->weight_decay = decay_all || p->value.ndim() > 1;
  const std::string name = o.value("name", std::string("sgd"));
  if (name == "sgd") {
    SgdOptions s;
    s.momentum = o.value("momentum", 0.9f);
    s.nesterov = o.value("nesterov", false);
    s.weight_decay = o.value("weight_decay", 0.0f);
    return make_sgd(params, s);
  }
  if (name == "adamw") {
    AdamWOptions a;
    auto betas = o.value("betas", std::vector<float>{0.9f, 0.999f});
    a.beta1 = betas.at(0);
    a.beta2 = betas.at(1);
    a.eps = o.value("eps", 1e-8f);
    a.weight_decay = o.value("weight_decay", 0.01f);
    return make_adamw(params, a);
  }
  throw ConfigError("optimizer.name: unknown optimizer '" + name + "' (valid: sgd, adamw)");
}

// MEM-DFA updates each layer inside its step: one optimizer per layer with trainable parameters.
std::unique_ptr<PerLayerOptimizer> make_per_layer_optimizer(const nlohmann::json& config, Graph& graph) {
  std::vector<std::unique_ptr<Optimizer>> layers;
  for (int i = 0; i < graph.size(); ++i) {
    std::vector<Parameter*> params;
    for (Parameter* p : graph.layer(i).parameters())
      if (p->trainable) params.push_back(p);
    layers.push_back(params.empty() ? nullptr : make_optimizer(config, params));
  }
  return std::make_unique<PerLayerOptimizer>(std::move(layers));
}

}  // namespace

Experiment build_experiment(const nlohmann::json& config, ExperimentUse use) {
  Experiment e;
  e.config = config;
  apply_thread_setting(config.value("threads", 0));
  const uint64_t seed = config.value("seed", uint64_t{0});
  e.test_data = open_dataset(dataset_options(config, Split::Test), Split::Test);
  if (use == ExperimentUse::Train) e.train_data = open_dataset(dataset_options(config, Split::Train), Split::Train);
  const Dataset& ref = e.train_data ? *e.train_data : *e.test_data;
  e.sample_shape = ref.sample_shape();
  const auto& model = config.at("model");
  e.num_classes = model.value("num_classes", int64_t{0});
  if (e.num_classes == 0) e.num_classes = ref.num_classes();
  e.graph = build_model(model, e.sample_shape, e.num_classes, seed);
  const Device device = parse_device(config.value("device", std::string("cpu")));
  e.graph->to_device(device);  // before modes take state
  if (device != Device::CPU) device_runtime(device).set_deterministic(config.at("cuda").at("deterministic").get<bool>());

  const auto& data = config.at("data");
  const int64_t batch = data.value("batch_size", int64_t{128});
  auto modes = assign_backward_modes(*e.graph, config.at("backward"), seed);
  const std::string planner = config.at("memory").value("planner", std::string("static"));
  const float label_smoothing = config.at("train").value("label_smoothing", 0.0f);
  e.executor = std::make_unique<Executor>(*e.graph, std::move(modes), planner, e.num_classes, label_smoothing);
  if (use == ExperimentUse::Evaluate) return e;

  const bool drop_last = data.value("drop_last", true);
  const int64_t n = e.train_data->size();
  e.steps_per_epoch = drop_last ? n / batch : (n + batch - 1) / batch;
  if (e.steps_per_epoch == 0)
    throw ConfigError("data.batch_size: " + std::to_string(batch) + " is larger than the " + std::to_string(n) +
                      " training samples (with drop_last)");
  if (runs_mem_dfa(*e.executor)) {
    auto per_layer = make_per_layer_optimizer(config, *e.graph);
    e.step_schedule =
        std::make_unique<MemDfaSchedule>(*e.executor, *per_layer, planner, e.num_classes, label_smoothing);
    e.optimizer = std::move(per_layer);
  } else {
    e.optimizer = make_optimizer(config, e.graph->trainable_parameters());
    e.step_schedule = std::make_unique<PlainSchedule>(*e.executor, *e.optimizer);
  }
  const auto& s = config.at("schedule");
  LrScheduleOptions so;
  so.name = s.value("name", std::string("constant"));
  so.base_lr = config.at("optimizer").value("lr", 0.1f);
  so.milestones_epochs = s.value("milestones", std::vector<int64_t>{});
  so.gamma = s.value("gamma", 0.1f);
  so.warmup_epochs = s.value("warmup_epochs", 0.0);
  so.min_lr = s.value("min_lr", 0.0f);
  so.total_epochs = config.at("train").value("epochs", int64_t{1});
  so.steps_per_epoch = e.steps_per_epoch;
  e.schedule = std::make_unique<LrSchedule>(so);
  return e;
}

}  // namespace frugal
