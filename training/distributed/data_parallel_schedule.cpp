#include "training/distributed/data_parallel_schedule.h"

#include "core/error.h"
#include "training/memory_accounting.h"

namespace frugal {

DataParallelSchedule::DataParallelSchedule(Executor& executor, Optimizer& optimizer, DataParallel& dp)
    : executor_(executor), optimizer_(optimizer), dp_(dp), reducer_(dp) {
  executor_.set_after_backward([this](int node) {
    const int b = dp_.flat().bucket_of_node(node);
    if (b >= 0 && dp_.flat().buckets()[static_cast<size_t>(b)].ready_node == node) reducer_.bucket_ready(b);
  });
  for (const FlatSplit& split : dp_.flat().splits()) {
    auto* layer = dynamic_cast<WeightedLayer*>(&executor_.graph().layer(split.node));
    if (!layer || !layer->can_split_weight_gradient() || &layer->weight() != split.param)
      throw InternalError("data parallel: the gradient of '" + split.param->name + "' cannot be split into pieces");
    auto pieces = std::make_unique<WeightedLayer::GradientPieces>();
    pieces->row_bounds = split.row_bounds;
    const int first = split.first_bucket;
    pieces->destination = [this, first](int i) { return dp_.flat().bucket_gradients(first + i).device_f32(); };
    pieces->done = [this, first](int i) { reducer_.bucket_ready(first + i); };
    layer->set_weight_gradient_pieces(pieces.get());
    pieces_.push_back(std::move(pieces));
  }
}

DataParallelSchedule::~DataParallelSchedule() {
  executor_.set_after_backward({});
  for (const FlatSplit& split : dp_.flat().splits())
    if (auto* layer = dynamic_cast<WeightedLayer*>(&executor_.graph().layer(split.node)))
      layer->set_weight_gradient_pieces(nullptr);
}

StepResult DataParallelSchedule::reduced_step(const Tensor& images, const Tensor& labels, uint64_t step,
                                              uint64_t seed) {
  const int64_t local = images.dim(0);
  reducer_.begin_step(local, dp_.global_batch() > 0 ? dp_.global_batch() : local * dp_.size(), step);
  StepResult r = executor_.train_step(images, labels, step, dp_.step_seed(seed));
  reducer_.backward_done();
  reducer_.wait_all();
  return r;
}

StepResult DataParallelSchedule::train_step(const Tensor& images, const Tensor& labels, uint64_t step,
                                            uint64_t seed, float lr) {
  StepResult r = reduced_step(images, labels, step, seed);
  optimizer_.step(lr);
  if (dp_.options().shard_optimizer_state)
    for (int b = 0; b < static_cast<int>(dp_.flat().buckets().size()); ++b) reducer_.gather_weights(b);
  reducer_.finish_step();
  return r;
}

StepResult DataParallelSchedule::gradient_step(const Tensor& images, const Tensor& labels, uint64_t step,
                                               uint64_t seed) {
  if (dp_.options().shard_gradients)
    throw ConfigError("distributed.shard_gradients: no rank holds every averaged gradient, so this command "
                      "cannot step the optimizer apart from the training step");
  StepResult r = reduced_step(images, labels, step, seed);
  reducer_.finish_step();
  return r;
}

MemoryReport DataParallelSchedule::memory_report(Experiment& e, int64_t batch, nlohmann::json extra) {
  return executor_memory_report(e, executor_, batch, std::move(extra));
}

}  // namespace frugal
