// MEM-DFA's two passes over N ranks (docs/distributed.md). One gradient bucket per block (dp.flat() is
// laid out in block order): when pass 2 reaches a block's update point, that block's gradients are queued
// for reduction and the previous block, whose reduction has run meanwhile behind this block's recompute
// and backward, is updated. Deferring a block's update by one block changes nothing: pass 2 never reads
// a block's weights again once its backward is done (mem_dfa_runner.h), so the weights are those of the
// single-process schedule, from averaged gradients.
#pragma once
#include <string>
#include <vector>

#include "training/distributed/bucket_reducer.h"
#include "training/schedules/mem_dfa_runner.h"
#include "training/schedules/per_layer_optimizer.h"
#include "training/schedules/step_schedule.h"

namespace frugal {

class MemDfaDataParallelSchedule final : public StepSchedule {
 public:
  MemDfaDataParallelSchedule(Executor& executor, const std::string& planner_name, int64_t num_classes,
                             float label_smoothing, DataParallel& dp);

  // The blocks of a step for `batch` samples, as groups of nodes for the bucket layout.
  std::vector<std::vector<int>> block_groups(int64_t batch);
  // Before the first step, once dp.flat() exists: `optimizer` holds node i's optimizer at index i.
  void set_optimizer(PerLayerOptimizer& optimizer);

  const char* name() const override { return "mem_dfa_data_parallel"; }
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                        float lr) override;
  StepResult gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) override;
  const StepDescription& plan(int64_t batch) override { return runner_.plan(batch).step; }
  const Planner& planner() const override { return runner_.planner(); }
  MemoryReport memory_report(Experiment& e, int64_t batch, nlohmann::json extra) override;
  bool times_layers() const override { return false; }

 private:
  StepResult run(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed, const float* lr);
  void update_bucket(int b, float lr);

  MemDfaRunner runner_;
  DataParallel& dp_;
  PerLayerOptimizer* optimizer_ = nullptr;
  std::unique_ptr<BucketReducer> reducer_;
};

}  // namespace frugal
