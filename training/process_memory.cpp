#include "training/process_memory.h"

#include <omp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "memory/format.h"
#include "memory/profiler.h"
#include "training/memory_accounting.h"

namespace frugal {
namespace {

// Calibrated on this project's configs (docs/memory_budget.md, "The whole process"): library code
// first run after start-up (OpenBLAS and frugal's kernels), OpenBLAS's packing buffers and an OpenMP
// thread's stack per compute thread, and the allocator's overhead.
constexpr size_t kMiB = 1048576;
constexpr size_t kCodeRunLater = 3 * kMiB;
constexpr size_t kPerThread = 2 * kMiB;
constexpr size_t kAllocatorBase = 2 * kMiB;

// A "Key:  N kB" line of a /proc file, in KiB (0 when absent).
size_t proc_kib(const char* file, const char* key) {
  std::ifstream status(file);
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream fields(line.substr(prefix.size()));
    size_t kib = 0;
    fields >> kib;
    return kib;
  }
  return 0;
}

size_t loader_bytes(const LoaderOptions& lo, const Dataset& data, int64_t batch) {
  const size_t sample = static_cast<size_t>(data.sample_shape().numel());
  const size_t slots = static_cast<size_t>(lo.prefetch) + 1;
  size_t bytes = slots * static_cast<size_t>(batch) * (sample * sizeof(float) + sizeof(int32_t));
  bytes += static_cast<size_t>(data.size()) * sizeof(int64_t);  // the epoch's sample order
  if (lo.crop_padding > 0 || lo.horizontal_flip) bytes += static_cast<size_t>(lo.workers) * sample * sizeof(float);
  return bytes;
}

int compute_threads() { return omp_get_max_threads(); }

// RAM plus swap, 0 where /proc/meminfo cannot be read: a run predicted to need more cannot finish here
// (the kernel would end it, exit 137, possibly after hours of training). Tests give a smaller machine
// through FRUGAL_TEST_MACHINE_MEMORY_MB, so that the refusal is tested without allocating that much.
size_t machine_memory_bytes() {
  if (const char* test_mb = std::getenv("FRUGAL_TEST_MACHINE_MEMORY_MB"))
    return static_cast<size_t>(std::strtoull(test_mb, nullptr, 10)) * kMiB;
  return (proc_kib("/proc/meminfo", "MemTotal") + proc_kib("/proc/meminfo", "SwapTotal")) * 1024;
}

}  // namespace

size_t resident_bytes() { return proc_kib("/proc/self/status", "VmRSS") * 1024; }

size_t startup_resident_bytes() {
  // The backward.auto planner runs in a child process (cli/auto_backward.h) and plans for its parent,
  // whose start-up resident set differs from its own by a few pages: the parent passes its figure on,
  // so that both predict the same process to the byte.
  static const size_t at_start = [] {
    const char* parent = std::getenv(kStartupResidentEnv);
    return parent && *parent ? static_cast<size_t>(std::strtoull(parent, nullptr, 10)) : resident_bytes();
  }();
  return at_start;
}

nlohmann::json ProcessMemory::json() const {
  return {{"code_and_libraries_bytes", code_and_libraries},
          {"dataset_bytes", dataset},
          {"loader_bytes", loader},
          {"training_step_bytes", training_step},
          {"evaluation_bytes", evaluation},
          {"blas_openmp_bytes", blas_openmp},
          {"rest_bytes", rest},
          {"total_bytes", total()}};
}

ProcessMemory predict_process_memory(Experiment& e, int64_t batch) {
  ProcessMemory p;
  p.code_and_libraries = startup_resident_bytes() + kCodeRunLater;
  for (const Dataset* d : {e.train_data.get(), e.test_data.get()})
    if (d) p.dataset += d->storage_bytes();
  size_t persistent = 0;
  full_step_description(e, e.step_schedule->plan(batch), &persistent);
  p.training_step = e.step_schedule->planner().predicted_peak_bytes() + persistent;
  const LoaderOptions train = train_loader_options(e.config);
  const int64_t test_batch =
      std::min<int64_t>(e.config.at("data").at("test_batch_size").get<int64_t>(), e.test_data->size());
  p.evaluation = e.executor->evaluation_bytes(test_batch);
  const int64_t eval_batch = e.executor->evaluation_batch(test_batch);
  e.step_schedule->plan(batch);  // the graph set up for training again
  LoaderOptions eval;
  eval.prefetch = 1;  // as evaluate_dataset
  p.loader = (e.train_data ? loader_bytes(train, *e.train_data, batch) : 0) + loader_bytes(eval, *e.test_data, eval_batch);
  p.blas_openmp = static_cast<size_t>(compute_threads()) * kPerThread;
  p.rest = kAllocatorBase;
  return p;
}

nlohmann::json process_memory_section(Experiment& e, const ProcessMemory& predicted, bool measured) {
  nlohmann::json j = {{"predicted", predicted.json()},
                      {"threads", compute_threads()},
                      {"evaluation_in_training_arena", predicted.evaluation == 0}};
  if (!measured) return j;
  const size_t peak = peak_rss_bytes();
  nlohmann::json m = {{"peak_rss_bytes", peak},
                      {"code_and_libraries_bytes", startup_resident_bytes()},
                      {"dataset_bytes", e.data_resident_bytes},
                      {"loader_bytes", predicted.loader}};
  size_t persistent = 0;
  full_step_description(e, e.step_schedule->plan(e.config.at("data").at("batch_size").get<int64_t>()), &persistent);
  const size_t step = e.step_schedule->planner().measured_peak_bytes() + persistent;
  const size_t eval = e.executor->evaluation_shares_training_arena() ? 0 : e.executor->evaluation_planner().measured_peak_bytes();
  m["training_step_bytes"] = step;
  m["evaluation_bytes"] = eval;
  const size_t attributed = startup_resident_bytes() + e.data_resident_bytes + predicted.loader + step + eval;
  m["unattributed_bytes"] = peak > attributed ? peak - attributed : 0;  // BLAS, OpenMP, code run later, allocator
  j["measured"] = m;
  j["measured_over_predicted"] = predicted.total() ? static_cast<double>(peak) / predicted.total() : 0.0;
  return j;
}

void check_process_budget(Experiment& e, const ProcessMemory& predicted) {
  const double budget_mb = e.config.at("memory").at("budget_mb").get<double>();
  const size_t budget = budget_mb > 0 ? static_cast<size_t>(budget_mb * 1048576.0) : 0;
  const size_t machine = machine_memory_bytes();
  const bool over_machine = machine > 0 && predicted.total() > machine && (budget == 0 || budget > machine);
  if (!over_machine && (budget == 0 || predicted.total() <= budget)) return;
  std::string parts = "training step " + format_bytes(predicted.training_step) + ", dataset " +
                      format_bytes(predicted.dataset) + ", code and libraries " +
                      format_bytes(predicted.code_and_libraries) + ", loaders " + format_bytes(predicted.loader) +
                      ", evaluation " + format_bytes(predicted.evaluation) + ", BLAS/OpenMP " +
                      format_bytes(predicted.blas_openmp) + ", rest " + format_bytes(predicted.rest);
  // The training step's own breakdown names what a cheaper mode or a smaller batch would shrink.
  const std::string step_detail =
      "; training step " + describe_training_peak(e, e.config.at("data").at("batch_size").get<int64_t>());
  const std::string limit = over_machine ? "this machine has " + format_bytes(machine) + " of memory and swap"
                                         : "the budget is " + format_bytes(budget);
  throw MemoryBudgetError(std::string(over_machine ? "memory" : "memory.budget_mb") +
                          ": the process is predicted to need " + format_bytes(predicted.total()) + " but " + limit +
                          " (" + parts + ")" + step_detail +
                          "; a smaller data.batch_size or data.prefetch, or memory.budget_mb with backward.auto "
                          "(cheaper backward modes), makes it fit (docs/memory_budget.md)");
}

}  // namespace frugal
