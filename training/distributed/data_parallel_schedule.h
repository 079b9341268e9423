// The plain training step over N ranks (docs/distributed.md): the executor's forward and backward on this
// rank's samples; each gradient bucket is queued for reduction from the executor's after-backward hook
// as soon as its last layer's backward is done, so communication overlaps the rest of the backward;
// then the optimizer steps on the averaged gradients (on this rank's shard only, followed by an
// all-gather of the weights, when the optimizer state is sharded).
#pragma once
#include <memory>
#include <vector>

#include "training/distributed/bucket_reducer.h"
#include "training/optim/optimizer.h"
#include "training/schedules/step_schedule.h"

namespace frugal {

class DataParallelSchedule final : public StepSchedule {
 public:
  // All must outlive the schedule; dp.flat() lays the buckets out in backward order. Installs the
  // executor's after-backward hook.
  DataParallelSchedule(Executor& executor, Optimizer& optimizer, DataParallel& dp);
  ~DataParallelSchedule() override;

  const char* name() const override { return "data_parallel"; }
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                        float lr) override;
  // The averaged gradients in every .grad; ConfigError with sharded gradients (no rank holds them all).
  StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) override;
  const StepDescription& plan(int64_t batch) override { return executor_.training_plan(batch).step; }
  const Planner& planner() const override { return executor_.training_planner(); }
  MemoryReport memory_report(Experiment& e, int64_t batch, nlohmann::json extra) override;
  bool times_layers() const override { return true; }

 private:
  StepResult reduced_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed);

  Executor& executor_;
  Optimizer& optimizer_;
  DataParallel& dp_;
  BucketReducer reducer_;
  // The layers of dp.flat().splits() hand their weight gradients on in pieces, each queued at once.
  std::vector<std::unique_ptr<WeightedLayer::GradientPieces>> pieces_;
};

}  // namespace frugal
