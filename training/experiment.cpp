#include "training/experiment.h"

#include <omp.h>

#include <algorithm>

#include "core/device.h"
#include "core/error.h"
#include "ops/kernels.h"
#include "training/distributed/data_parallel.h"
#include "training/distributed/data_parallel_setup.h"
#include "training/models/models.h"
#include "training/process_memory.h"
#include "training/modes/registry.h"
#include "training/optim/optimizer_factory.h"
#include "training/schedules/mem_dfa_schedule.h"
#include "training/schedules/plain_schedule.h"

extern "C" void openblas_set_num_threads(int);

namespace frugal {

Experiment::Experiment() = default;
Experiment::~Experiment() = default;
Experiment::Experiment(Experiment&&) noexcept = default;
Experiment& Experiment::operator=(Experiment&&) noexcept = default;

void apply_thread_setting(int threads) {
  int n = threads > 0 ? threads : omp_get_num_procs();
  omp_set_num_threads(n);
  // frugal parallelises with OpenMP around single-threaded GEMMs; OpenBLAS's own pool would only spin.
  openblas_set_num_threads(1);
}

DatasetOptions dataset_options(const nlohmann::json& config, Split split) {
  const auto& d = config.at("data");
  const bool train = split == Split::Train;
  DatasetOptions o;
  o.dataset = d.at("dataset").get<std::string>();
  o.path = d.at("path").get<std::string>();
  o.label_type = d.at("label_type").get<std::string>();
  o.limit = d.at(train ? "train_limit" : "test_limit").get<int64_t>();
  o.image_size = d.at("image_size").get<int64_t>();
  o.skip_corrupt = d.at("corrupt_images").get<std::string>() == "skip";
  o.seed = config.at("seed").get<uint64_t>();
  const auto& s = d.at("synthetic");
  // [F] and [H, W] are one-channel examples of one row: [1, 1, F] and [1, H, W].
  std::vector<int64_t> shape = s.at("shape").get<std::vector<int64_t>>();
  shape.insert(shape.begin(), 3 - std::min<size_t>(shape.size(), 3), 1);
  o.synthetic_shape = shape;
  o.synthetic_classes = s.at("classes").get<int64_t>();
  o.synthetic_size = s.at(train ? "train_size" : "test_size").get<int64_t>();
  return o;
}

LoaderOptions train_loader_options(const nlohmann::json& config) {
  const auto& d = config.at("data");
  LoaderOptions lo;
  lo.batch_size = d.at("batch_size").get<int64_t>();
  lo.shuffle = true;
  lo.drop_last = d.at("drop_last").get<bool>();
  lo.seed = config.at("seed").get<uint64_t>();
  lo.crop_padding = d.at("augment").at("crop_padding").get<int64_t>();
  lo.horizontal_flip = d.at("augment").at("horizontal_flip").get<bool>();
  lo.mean = d.at("normalize").at("mean").get<std::vector<float>>();
  lo.std = d.at("normalize").at("std").get<std::vector<float>>();
  lo.prefetch = d.at("prefetch").get<int>();
  lo.workers = d.at("workers").get<int>();
  const auto& augment = d.at("augment");
  lo.random_resized_crop = augment.at("random_resized_crop").get<bool>();
  const auto scale = augment.at("crop_scale").get<std::vector<double>>();
  const auto ratio = augment.at("crop_ratio").get<std::vector<double>>();
  lo.crop = {scale.at(0), scale.at(1), ratio.at(0), ratio.at(1)};
  return lo;
}

namespace {

// A batch of `batch` examples of `sample` stays far inside 64-bit counts: at most 2^40 values (4 TiB
// of floats). Beyond that no allocation could succeed, and the element and byte counts computed on
// the way could overflow.
constexpr int64_t kMaxBatchValues = int64_t{1} << 40;

void check_batch_size(const Shape& sample, int64_t batch, const char* batch_key, const char* sample_source) {
  int64_t values = 1;
  for (int i = 0; i < sample.ndim(); ++i) {
    if (sample[i] > kMaxBatchValues / values)
      throw ConfigError(std::string(sample_source) + ": an example of shape " + sample.str() +
                        " holds more than 2^40 values");
    values *= sample[i];
  }
  if (batch > kMaxBatchValues / values)
    throw ConfigError(std::string(batch_key) + ": " + std::to_string(batch) + " examples of shape " +
                      sample.str() + " are more than 2^40 values in one batch");
}

// MEM-DFA updates each layer inside its step: one optimizer per layer with trainable parameters.
std::unique_ptr<PerLayerOptimizer> make_per_layer_optimizer(const nlohmann::json& config, Graph& graph) {
  std::vector<std::unique_ptr<Optimizer>> layers;
  for (int i = 0; i < graph.size(); ++i) {
    std::vector<Parameter*> params;
    for (Parameter* p : graph.layer(i).parameters())
      if (p->trainable) params.push_back(p);
    layers.push_back(params.empty() ? nullptr : make_optimizer(config.at("optimizer"), {params.begin(), params.end()}));
  }
  return std::make_unique<PerLayerOptimizer>(std::move(layers));
}

// train.micro_batches (docs/memory_budget.md, "Micro-batches"): `step` samples per step over all ranks.
void set_micro_batches(Experiment& e, const nlohmann::json& config, int64_t batch, int64_t samples, int64_t step,
                       bool data_parallel) {
  const int k = config.at("train").at("micro_batches").get<int>();
  if (k == 1) return;
  if (batch % k != 0)
    throw ConfigError("train.micro_batches: " + std::to_string(k) + " does not divide data.batch_size " +
                      std::to_string(batch));
  if (runs_mem_dfa(*e.executor))
    throw ConfigError("train.micro_batches: " + std::to_string(k) +
                      " with MEM-DFA (backward mode mem_dfa): its two passes update each block inside the "
                      "second, so there is no step-wide gradient to accumulate; use train.micro_batches 1");
  if (data_parallel && config.at("distributed").at("shard_gradients").get<bool>())
    throw ConfigError("train.micro_batches: " + std::to_string(k) + " with distributed.shard_gradients: sharded "
                      "gradients share bucket slots that are reduced and reused within a pass, so nothing is left "
                      "to add the next pass to; set distributed.shard_gradients false or train.micro_batches 1");
  if (!config.at("data").at("drop_last").get<bool>() && samples % step != 0)
    throw ConfigError("train.micro_batches: " + std::to_string(k) + " with data.drop_last false: the last, short "
                      "batch of " + std::to_string(samples % step) + " samples does not split into " +
                      std::to_string(k) + " equal passes; set data.drop_last true or train.micro_batches 1");
  e.executor->set_micro_batches(k);
}

}  // namespace

void require_device(const nlohmann::json& config) { kernels_for(parse_device(config.at("device").get<std::string>())); }

Experiment build_experiment(const nlohmann::json& config, ExperimentUse use, Communicator* comm) {
  Experiment e;
  e.config = config;
  apply_thread_setting(config.at("threads").get<int>());
  const uint64_t seed = config.at("seed").get<uint64_t>();
  const auto& data = config.at("data");
  // The key that sets an example's size: a synthetic shape, an image folder's crop, else the files.
  const std::string dataset = data.at("dataset").get<std::string>();
  const char* sample_source = dataset == "synthetic"      ? "data.synthetic.shape"
                              : dataset == "image_folder" ? "data.image_size"
                                                          : "data.path";
  const size_t resident_before = resident_bytes();
  e.test_data = open_dataset(dataset_options(config, Split::Test), Split::Test);
  if (use == ExperimentUse::Train) e.train_data = open_dataset(dataset_options(config, Split::Train), Split::Train);
  const size_t resident_after = resident_bytes();
  e.data_resident_bytes = resident_after > resident_before ? resident_after - resident_before : 0;
  const Dataset& ref = e.train_data ? *e.train_data : *e.test_data;
  e.sample_shape = ref.sample_shape();
  // Before anything is sized from them: the model's weights, the step's buffers.
  check_batch_size(e.sample_shape, data.at("test_batch_size").get<int64_t>(), "data.test_batch_size", sample_source);
  if (use == ExperimentUse::Train)
    check_batch_size(e.sample_shape, data.at("batch_size").get<int64_t>(), "data.batch_size", sample_source);
  if (ref.num_classes() < 2)
    throw DataError(std::string(dataset == "synthetic" ? "data.synthetic.classes" : "data.path") + ": " +
                    ref.describe() + " has " + std::to_string(ref.num_classes()) +
                    " class; a classifier needs at least 2");
  const auto& model = config.at("model");
  e.num_classes = model.at("num_classes").get<int64_t>();
  if (e.num_classes == 0) {
    e.num_classes = ref.num_classes();
  } else if (e.num_classes < ref.num_classes()) {
    // Refused here rather than as a label out of range at the first step.
    throw ConfigError("model.num_classes: " + std::to_string(e.num_classes) + " is fewer than the " +
                      std::to_string(ref.num_classes()) + " classes of the data (" + ref.describe() +
                      "); 0 takes the dataset's count");
  }
  e.graph = build_model(model, e.sample_shape, e.num_classes, seed);
  const Device device = parse_device(config.at("device").get<std::string>());
  e.graph->to_device(device);  // before modes take state
  if (device != Device::CPU) device_runtime(device).set_deterministic(config.at("cuda").at("deterministic").get<bool>());

  const int64_t batch = data.at("batch_size").get<int64_t>();
  auto modes = assign_backward_modes(*e.graph, config.at("backward"), seed);
  const std::string planner = config.at("memory").at("planner").get<std::string>();
  const float label_smoothing = config.at("train").at("label_smoothing").get<float>();
  e.executor = std::make_unique<Executor>(*e.graph, std::move(modes), planner, e.num_classes, label_smoothing);
  if (use == ExperimentUse::Evaluate) return e;

  const bool drop_last = data.at("drop_last").get<bool>();
  const int64_t n = e.train_data->size();
  // A step takes batch_size samples on every rank; a short last step is dropped when some rank would
  // get none (as the loader does: datasets/loader.h).
  const int64_t ranks = comm ? comm->size() : 1, step = batch * ranks;
  e.steps_per_epoch = drop_last ? n / step : (n + step - 1) / step;
  if (e.steps_per_epoch > 0 && n - (e.steps_per_epoch - 1) * step < ranks) --e.steps_per_epoch;
  if (e.steps_per_epoch == 0)
    throw ConfigError("data.batch_size: " + std::to_string(batch) +
                      (ranks > 1 ? " per rank x " + std::to_string(ranks) + " ranks" : std::string()) +
                      " is larger than the " + std::to_string(n) + " training samples (with drop_last)");
  set_micro_batches(e, config, batch, n, step, comm != nullptr);
  if (comm) {
    make_data_parallel(e, *comm);
  } else if (runs_mem_dfa(*e.executor)) {
    auto per_layer = make_per_layer_optimizer(config, *e.graph);
    e.step_schedule =
        std::make_unique<MemDfaSchedule>(*e.executor, *per_layer, planner, e.num_classes, label_smoothing);
    e.optimizer = std::move(per_layer);
  } else {
    const std::vector<Parameter*> params = e.graph->trainable_parameters();
    e.optimizer = make_optimizer(config.at("optimizer"), {params.begin(), params.end()});
    e.step_schedule = std::make_unique<PlainSchedule>(*e.executor, *e.optimizer);
  }
  const auto& s = config.at("schedule");
  LrScheduleOptions so;
  so.name = s.at("name").get<std::string>();
  so.base_lr = config.at("optimizer").at("lr").get<float>();
  so.milestones_epochs = s.at("milestones").get<std::vector<int64_t>>();
  so.gamma = s.at("gamma").get<float>();
  so.warmup_epochs = s.at("warmup_epochs").get<double>();
  so.min_lr = s.at("min_lr").get<float>();
  so.total_epochs = config.at("train").at("epochs").get<int64_t>();
  so.steps_per_epoch = e.steps_per_epoch;
  e.schedule = std::make_unique<LrSchedule>(so);
  return e;
}

}  // namespace frugal
