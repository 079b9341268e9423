#include "training/distributed/mem_dfa_data_parallel_schedule.h"

#include "core/error.h"
#include "training/schedules/mem_dfa_report.h"

namespace frugal {

MemDfaDataParallelSchedule::MemDfaDataParallelSchedule(Executor& executor, const std::string& planner_name,
                                                       int64_t num_classes, float label_smoothing, DataParallel& dp)
    : runner_(executor, planner_name, num_classes, label_smoothing), dp_(dp) {}

std::vector<std::vector<int>> MemDfaDataParallelSchedule::block_groups(int64_t batch) {
  std::vector<std::vector<int>> groups;
  for (auto [first, last] : runner_.plan(batch).blocks) {
    groups.emplace_back();
    for (int i = first; i <= last; ++i) groups.back().push_back(i);
  }
  return groups;
}

void MemDfaDataParallelSchedule::set_optimizer(PerLayerOptimizer& optimizer) {
  optimizer_ = &optimizer;
  reducer_ = std::make_unique<BucketReducer>(dp_);
}

void MemDfaDataParallelSchedule::update_bucket(int b, float lr) {
  reducer_->wait(b);
  for (int node : dp_.flat().buckets()[static_cast<size_t>(b)].nodes) optimizer_->step_layer(node, lr);
  if (dp_.options().shard_optimizer_state) reducer_->gather_weights(b);
}

StepResult MemDfaDataParallelSchedule::run(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                           const float* lr) {
  if (!optimizer_) throw InternalError("MemDfaDataParallelSchedule: no optimizer set");
  const int64_t local = images.dim(0);
  reducer_->begin_step(local, dp_.global_batch() > 0 ? dp_.global_batch() : local * dp_.size(), step);
  const FlatParameters& flat = dp_.flat();
  int previous = -1;  // the bucket queued at the last block's update point, not yet updated
  auto at_update_point = [&](int node) {
    const int b = flat.bucket_of_node(node);
    // The runner calls this for every node of a block; a bucket is one block, ready at its last node.
    if (b < 0 || flat.buckets()[static_cast<size_t>(b)].ready_node != node) return;
    reducer_->bucket_ready(b);
    if (previous >= 0 && lr) update_bucket(previous, *lr);
    previous = b;
  };
  StepResult r = runner_.train_step(images, labels, step, dp_.step_seed(seed), at_update_point);
  reducer_->backward_done();
  if (previous >= 0 && lr) update_bucket(previous, *lr);
  reducer_->finish_step();
  return r;
}

StepResult MemDfaDataParallelSchedule::train_step(const Tensor& images, const Tensor& labels, uint64_t step,
                                                  uint64_t seed, float lr) {
  return run(images, labels, step, seed, &lr);
}

StepResult MemDfaDataParallelSchedule::gradient_step(const Tensor& images, const Tensor& labels, uint64_t step,
                                                     uint64_t seed) {
  if (dp_.options().shard_gradients)
    throw ConfigError("distributed.shard_gradients: no rank holds every averaged gradient, so this command "
                      "cannot step the optimizer apart from the training step");
  return run(images, labels, step, seed, nullptr);
}

MemoryReport MemDfaDataParallelSchedule::memory_report(Experiment& e, int64_t batch, nlohmann::json extra) {
  return mem_dfa_memory_report(e, runner_, batch, std::move(extra));
}

}  // namespace frugal
