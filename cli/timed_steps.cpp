#include "cli/timed_steps.h"

#include <algorithm>
#include <chrono>

#include "training/batch_stager.h"
#include "training/memory_accounting.h"

namespace frugal::cli {

TimedSteps run_timed_steps(Experiment& e, const nlohmann::json& config, int warmup, int steps, bool per_layer) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  TimedSteps out;
  out.batch = config.at("data").at("batch_size").get<int64_t>();
  check_training_budget(e, out.batch);
  LoaderOptions lo = train_loader_options(config);
  // Batches are prepared between the timed steps, not by a prefetch thread during them: on a machine
  // with as many compute threads as cores that thread takes its time from the step (ResNet-20 on
  // 2 cores: ~10 ms a step), and what is timed here is the step itself. data_seconds says what the
  // batches cost.
  lo.prefetch = 0;
  Loader loader(*e.train_data, lo);
  BatchStager stager(loader, e.graph->device());
  // A device queues kernels and returns: the host waits for them at the end of each timed part, so that
  // the times are the device's (a no-op on the CPU).
  DeviceRuntime& device = device_runtime(e.graph->device());
  int64_t epoch = 0;
  stager.start_epoch(epoch);
  Batch b;
  for (int s = 0; s < warmup + steps; ++s) {
    const auto t_data = Clock::now();
    if (!stager.next(b)) stager.start_epoch(++epoch), stager.next(b);
    if (per_layer && s == warmup) e.executor->set_timing(true);
    const auto t0 = Clock::now();
    e.step_schedule->gradient_step(b.images, b.labels, static_cast<uint64_t>(s), lo.seed);
    device.synchronize();
    const auto t1 = Clock::now();
    e.optimizer->step(e.schedule->lr_at(s));
    device.synchronize();
    const auto t2 = Clock::now();
    if (s >= warmup) {
      out.step_seconds.push_back(seconds(t0, t2));
      out.optimizer_seconds.push_back(seconds(t1, t2));
      out.data_seconds.push_back(seconds(t_data, t0));
    }
  }
  out.staging_bytes = stager.device_bytes();
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace frugal::cli
