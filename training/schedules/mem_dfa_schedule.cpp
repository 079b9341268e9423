#include "training/schedules/mem_dfa_schedule.h"

#include "training/schedules/mem_dfa_report.h"

namespace frugal {

bool runs_mem_dfa(Executor& executor) {
  return executor.graph().size() > 0 && executor.mode(0).name() == "mem_dfa";
}

MemDfaSchedule::MemDfaSchedule(Executor& executor, PerLayerOptimizer& optimizer, const std::string& planner_name,
                               int64_t num_classes, float label_smoothing)
    : runner_(executor, planner_name, num_classes, label_smoothing), optimizer_(optimizer) {}

StepResult MemDfaSchedule::train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                      float lr) {
  return runner_.train_step(images, labels, step, seed, [&](int node) { optimizer_.step_layer(node, lr); });
}

StepResult MemDfaSchedule::gradient_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) {
  return runner_.train_step(images, labels, step, seed);
}

MemoryReport MemDfaSchedule::memory_report(Experiment& e, int64_t batch, nlohmann::json extra) {
  return mem_dfa_memory_report(e, runner_, batch, std::move(extra));
}

}  // namespace frugal
