#include "training/schedules/plain_schedule.h"

#include "training/memory_accounting.h"

namespace frugal {

StepResult PlainSchedule::train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                     float lr) {
  StepResult r = executor_.train_step(images, labels, step, seed);
  optimizer_.step(lr);
  return r;
}

MemoryReport PlainSchedule::memory_report(Experiment& e, int64_t batch, nlohmann::json extra) {
  return executor_memory_report(e, executor_, batch, std::move(extra));
}

}  // namespace frugal
