#include "training/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/basic_file_sink.h>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/log.h"
#include "datasets/loader.h"
#include "memory/profiler.h"
#include "ops/kernels.h"
#include "training/batch_stager.h"
#include "training/checkpoint.h"
#include "training/checkpoint_store.h"
#include "training/distributed/distributed_evaluation.h"
#include "training/evaluation.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"
#include "training/process_memory.h"
#include "training/runs/run_report.h"

namespace frugal {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string run_dir_for(const nlohmann::json& config) {
  std::string dir = config.at("output").at("dir").get<std::string>();
  return dir.empty() ? "runs/" + config.at("name").get<std::string>() : dir;
}

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

// Logs also go to run_dir/log.txt for the duration of a run.
class RunLog {
 public:
  explicit RunLog(const std::string& dir) {
    try {
      sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/log.txt", false);
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError("cannot open the run's log '" + dir + "/log.txt': " + e.what());
    }
    sink_->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    log().sinks().push_back(sink_);
  }
  ~RunLog() {
    auto& sinks = log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

// metrics.jsonl keeps one line per completed epoch; on resume the lines of epochs past the
// checkpoint are dropped so the file matches the restored state.
void truncate_metrics(const std::string& file, int64_t epochs_kept) {
  if (!fs::exists(file)) return;
  std::ifstream in(file);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("epoch", int64_t{0}) <= epochs_kept) kept += line + "\n";
  }
  write_file_atomic(file, kept);
}

void append_line(const std::string& file, const std::string& line) {
  std::ofstream out(file, std::ios::app);
  if (!out) throw IoError("cannot append to " + file);
  out << line << "\n";
  out.flush();
  // A line cut short by a crash or a full disk is dropped on resume (truncate_metrics).
  if (!out) throw IoError("cannot append to " + file + " (disk full?)");
}


}  // namespace

nlohmann::json run_training(const nlohmann::json& config, const TrainOptions& opts, Communicator* comm) {
  const auto start = Clock::now();
  require_device(config);  // before the run directory exists
  const std::string dir = opts.run_dir;
  const bool writer = !comm || comm->rank() == 0;  // rank 0 alone writes the run directory
  const auto& train_cfg = config.at("train");
  // Every output location is checked before the data loads and the model is built.
  std::optional<RunLog> run_log;
  if (writer) {
    prepare_output_dir(dir);
    for (const char* file : {"config.json", "log.txt", "metrics.jsonl", "summary.json", "memory.json", "memory.html"})
      check_output_file(dir + "/" + file);
  }
  CheckpointStore checkpoints(dir, config.at("output").at("keep_checkpoints").get<int64_t>(), writer);
  checkpoints.check_layout();
  if (writer) run_log.emplace(dir);
  const std::string name = config.at("name").get<std::string>();
  if (comm) check_same_config(*comm, config);

  Experiment e = build_experiment(config, ExperimentUse::Train, comm);
  DataParallel* dp = e.data_parallel.get();
  const int ranks = dp ? dp->size() : 1;
  // Sums over the ranks (a no-op alone): train metrics and progress lines cover every rank's samples.
  auto global = [&](double (&sums)[3], const char* what) {
    if (dp) dp->sum(sums, 3, what);
  };
  const int64_t epochs = train_cfg.at("epochs").get<int64_t>();
  const int64_t max_steps = train_cfg.at("max_steps").get<int64_t>();
  const int64_t log_every = train_cfg.at("log_every").get<int64_t>();
  const int64_t eval_every = train_cfg.at("eval_every").get<int64_t>();
  const int64_t checkpoint_every = train_cfg.at("checkpoint_every").get<int64_t>();
  const int64_t batch_size = config.at("data").at("batch_size").get<int64_t>();
  const int64_t test_batch = config.at("data").at("test_batch_size").get<int64_t>();
  const uint64_t seed = config.at("seed").get<uint64_t>();
  const std::string metrics_file = dir + "/metrics.jsonl";

  log().info("run '{}' in {}: {} on {} ({} train / {} test samples, {} classes), {} parameters", name, dir,
             config.at("model").at("arch").get<std::string>(), e.train_data->describe(), e.train_data->size(),
             e.test_data->size(), e.num_classes, trainable_parameter_count(*e.graph));
  if (dp)
    log().info("data parallel over {} ({} buckets; batch {} per rank, {} per step; sharding: {})",
               comm->describe(), dp->flat().buckets().size(), batch_size, batch_size * ranks,
               dp->options().shard_gradients ? "optimizer state and gradients"
               : dp->options().shard_optimizer_state ? "optimizer state" : "none");

  // Plans the training step before a checkpoint loads: modes size their persistent state (e.g. the
  // outer-product error-feedback memory) from the training batch.
  e.step_schedule->plan(batch_size);
  const ProcessMemory predicted = predict_process_memory(e, batch_size);
  log().info("process memory predicted: {} (training step {}, dataset {}, code and libraries {}, loaders {}, "
             "evaluation {}{}, BLAS/OpenMP {}, rest {})",
             mib(predicted.total()), mib(predicted.training_step), mib(predicted.dataset),
             mib(predicted.code_and_libraries), mib(predicted.loader), mib(predicted.evaluation),
             predicted.evaluation == 0 ? " (in the training arena)" : "", mib(predicted.blas_openmp),
             mib(predicted.rest));
  if (!opts.auto_plan.is_null())
    log().info("backward.auto: modes chosen for memory.budget_mb = {} MiB: step {} planned, predicted gradient "
               "error {:.4g}, predicted step time x{:.2f} of exact ({} in {}/backward_plan.json)",
               config.at("memory").at("budget_mb").get<double>(),
               mib(opts.auto_plan.value("planned_step_bytes", size_t{0})),
               opts.auto_plan.value("predicted_error", 0.0), opts.auto_plan.value("predicted_slowdown", 1.0),
               "backward.layers", dir);
  check_process_budget(e, predicted);
  // Only now, with the run known to start, does the directory change: config.json, the checkpoints of
  // an earlier run. A run that fails to start leaves an earlier one in the same directory resumable.
  TrainingPosition pos;
  std::optional<TrainingPosition> restored;
  if (opts.resume) {
    checkpoints.open_for_resume();
    restored = checkpoints.load_newest(e);
  } else {
    checkpoints.discard_earlier_run();
  }
  if (writer) write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
  if (restored) {
    pos = *restored;
    if (writer) truncate_metrics(metrics_file, pos.epoch);
    log().info("resumed from {} at epoch {} batch {} (step {})", checkpoints.newest().value_or("?"), pos.epoch,
               pos.batch_in_epoch, pos.step);
  } else {
    if (opts.resume) log().info("no checkpoint in {}: the run starts from the beginning", dir);
    if (!opts.init_file.empty()) {
      load_weights(opts.init_file, *e.graph);
      log().info("initial weights from {}", opts.init_file);
    }
    if (writer) write_file_atomic(metrics_file, "");
  }

  nlohmann::json report_header = {{"name", name}, {"phase", "training"}};
  if (!opts.auto_plan.is_null()) report_header["backward_auto"] = opts.auto_plan;
  LoaderOptions loader_options = train_loader_options(config);
  if (dp) {
    loader_options.shard_rank = dp->rank();
    loader_options.shard_count = ranks;
  }
  Loader loader(*e.train_data, loader_options);
  BatchStager stager(loader, e.graph->device());  // batches reach the model's device a step ahead
  const int64_t batch = loader.options().batch_size;
  nlohmann::json last_train = {{"loss", nullptr}, {"accuracy", nullptr}};
  nlohmann::json last_test = {{"loss", nullptr}, {"accuracy", nullptr}};
  std::string status = "completed";
  int stop_signal = 0;
  bool memory_report_written = false;
  double images_total = 0, train_seconds_total = 0;
  // A signal reaches the ranks of a data-parallel job at different moments, yet all must stop at the
  // same step boundary: they agree on it each step (one small all-reduce).
  auto stop_requested = [&] {
    if (!opts.stop_signal) return false;
    const int own = opts.stop_signal->load();
    if (!dp) {
      stop_signal = own;
      return own != 0;
    }
    double flags[2] = {own != 0 ? 1.0 : 0.0, static_cast<double>(own)};
    dp->sum(flags, 2, "stop request");
    if (flags[0] > 0) stop_signal = static_cast<int>(std::lround(flags[1] / flags[0]));
    return flags[0] > 0;
  };

  while (pos.epoch < epochs) {
    const int64_t epoch = pos.epoch;  // 0-based epoch being trained
    stager.start_epoch(epoch, pos.batch_in_epoch);
    const auto epoch_start = Clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    auto window_start = Clock::now();
    int64_t window_images = 0;
    Batch b;
    bool budget_hit = false, interrupted = false;
    while (!(interrupted = stop_requested()) && stager.next(b)) {
      const float lr = e.schedule->lr_at(pos.step);
      if (dp) dp->set_global_batch(b.global_size);
      StepResult r = e.step_schedule->train_step(b.images, b.labels, static_cast<uint64_t>(pos.step), seed, lr);
      if (!std::isfinite(r.loss))
        throw Error("training diverged: loss is " + std::to_string(r.loss) + " at step " + std::to_string(pos.step) +
                    " (epoch " + std::to_string(epoch + 1) + "); lower optimizer.lr");
      ++pos.step;
      ++pos.batch_in_epoch;
      loss_sum += static_cast<double>(r.loss) * r.samples;
      correct += r.correct;
      seen += r.samples;
      window_images += dp ? b.global_size : r.samples;  // images/s over all ranks
      if (!memory_report_written) {
        MemoryReport report = training_memory_report(e, batch, report_header, stager.device_bytes());
        attach_process_memory(report, e, predicted, false);
        if (writer) write_memory_report(report, dir);
        memory_report_written = true;
      }
      if (pos.step % log_every == 0) {
        double ips = window_images / std::max(seconds_since(window_start), 1e-9);
        double window[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(seen)};
        global(window, "progress line sums");
        log().info("epoch {} step {} ({}/{}) loss {:.4f} acc {:.2f}% lr {:.4g} {:.0f} img/s mem {} rss {}{}", epoch + 1,
                   pos.step, pos.batch_in_epoch, e.steps_per_epoch, window[0] / window[2], 100.0 * window[1] / window[2],
                   lr, ips, mib(e.step_schedule->planner().held_bytes()), mib(peak_rss_bytes()),
                   dp ? communication_summary(dp->stats()) : std::string());
        window_start = Clock::now();
        window_images = 0;
      }
      if (max_steps > 0 && pos.step >= max_steps) {
        budget_hit = true;
        break;
      }
    }
    const double epoch_seconds = seconds_since(epoch_start);
    double epoch_sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(seen)};
    global(epoch_sums, "epoch training sums");
    loss_sum = epoch_sums[0];
    correct = static_cast<int64_t>(epoch_sums[1]);
    seen = static_cast<int64_t>(epoch_sums[2]);
    images_total += seen;
    train_seconds_total += epoch_seconds;
    pos.wall_seconds += epoch_seconds;
    if (seen > 0) last_train = {{"loss", loss_sum / seen}, {"accuracy", static_cast<double>(correct) / seen}};
    if (interrupted) {
      // A step boundary inside the epoch (or between epochs): the checkpoint records the batch.
      status = "interrupted";
      checkpoints.save(e, pos);
      log().info("stopped by signal {} at step {} (epoch {}, batch {}); checkpoint {}; resume with: frugal train "
                 "--resume {}",
                 stop_signal, pos.step, epoch + 1, pos.batch_in_epoch, checkpoints.newest().value_or("?"), dir);
      break;
    }
    const bool epoch_done = !budget_hit || pos.batch_in_epoch >= e.steps_per_epoch;
    if (epoch_done) {
      ++pos.epoch;
      pos.batch_in_epoch = 0;
    }
    const bool evaluate = epoch_done ? (pos.epoch % eval_every == 0 || pos.epoch == epochs) : true;
    nlohmann::json metrics = {{"epoch", epoch + 1},       {"step", pos.step},
                              {"lr", e.schedule->lr_at(std::max<int64_t>(pos.step - 1, 0))},
                              {"train_loss", last_train["loss"]}, {"train_accuracy", last_train["accuracy"]},
                              {"images_per_second", seen / std::max(epoch_seconds, 1e-9)},
                              {"seconds", epoch_seconds}};
    if (evaluate || budget_hit) {
      EvalResult t = dp ? evaluate_data_parallel(*dp, *e.executor, *e.test_data, test_batch, loader.options())
                        : evaluate_dataset(*e.executor, *e.test_data, test_batch, loader.options());
      last_test = {{"loss", t.loss}, {"accuracy", t.accuracy}};
      pos.best_test_accuracy = std::max(pos.best_test_accuracy, t.accuracy);
      metrics["test_loss"] = t.loss;
      metrics["test_accuracy"] = t.accuracy;
      // No training sums when a run resumes after its epoch's last batch (stopped by a signal right there):
      // the checkpoint holds no sums of the batches before it, so the epoch has no train figures.
      const std::string train_part =
          seen > 0 ? fmt::format("train loss {:.4f} acc {:.2f}%", last_train["loss"].get<double>(),
                                 100 * last_train["accuracy"].get<double>())
                   : std::string("no training batches left after the resume");
      log().info("epoch {} done: {} | test loss {:.4f} acc {:.2f}% | {:.1f} s, {:.0f} img/s", epoch + 1, train_part,
                 t.loss, 100 * t.accuracy, epoch_seconds, seen / std::max(epoch_seconds, 1e-9));
    }
    if (epoch_done && writer) append_line(metrics_file, metrics.dump());
    if (writer) write_run_report(dir);  // learning curves so far, beside the memory report
    const bool last = budget_hit || pos.epoch >= epochs;
    if ((checkpoint_every > 0 && epoch_done && pos.epoch % checkpoint_every == 0) || last) checkpoints.save(e, pos);
    if (budget_hit) {
      status = "max_steps";
      break;
    }
  }

  if (memory_report_written) {  // again, with the whole run's peak resident set measured (every rank gathers)
    MemoryReport report = training_memory_report(e, batch, report_header, stager.device_bytes());
    attach_process_memory(report, e, predicted, true);
    if (writer) write_memory_report(report, dir);
    log().info("process memory: peak RSS {} measured, {} predicted", mib(report.peak_rss_bytes), mib(predicted.total()));
  }
  const double wall = seconds_since(start);
  nlohmann::json summary = {{"name", name},
                            {"status", status},
                            {"epochs_completed", pos.epoch},
                            {"steps", pos.step},
                            {"train", last_train},
                            {"test", last_test},
                            {"best_test_accuracy", pos.best_test_accuracy},
                            {"wall_seconds", wall},
                            {"train_seconds", train_seconds_total},
                            {"images_per_second", images_total / std::max(train_seconds_total, 1e-9)},
                            {"peak_rss_bytes", peak_rss_bytes()},
                            {"world_size", ranks},
                            {"run_dir", dir}};
  if (dp) {
    // Each rank's planned step peak (its arena plus what persists: weights, gradients, state) and RSS.
    size_t persistent = 0;
    full_step_description(e, e.step_schedule->plan(batch), &persistent);
    const std::vector<double> planned = dp->gather_per_rank(
        static_cast<double>(e.step_schedule->planner().predicted_peak_bytes() + persistent), "summary (peaks)");
    const std::vector<double> rss = dp->gather_per_rank(static_cast<double>(peak_rss_bytes()), "summary (RSS)");
    summary["per_rank_peak_bytes"] = nlohmann::json::array();
    summary["per_rank_peak_rss_bytes"] = nlohmann::json::array();
    for (int r = 0; r < ranks; ++r) {
      summary["per_rank_peak_bytes"].push_back(static_cast<size_t>(planned[static_cast<size_t>(r)]));
      summary["per_rank_peak_rss_bytes"].push_back(static_cast<size_t>(rss[static_cast<size_t>(r)]));
    }
    summary["communication"] = communication_json(dp->stats());
  }
  if (stop_signal) summary["signal"] = stop_signal;
  if (writer) {
    write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
    write_run_report(dir);
  }
  log().info("run '{}' {}: test accuracy {:.2f}% after {} epochs ({} steps), {:.1f} s; results in {}", name, status,
             last_test["accuracy"].is_null() ? 0.0 : 100 * last_test["accuracy"].get<double>(), pos.epoch, pos.step,
             wall, dir);
  return summary;
}

nlohmann::json run_evaluation(const nlohmann::json& config, const std::string& checkpoint) {
  Experiment e = build_experiment(config, ExperimentUse::Evaluate);
  std::string file = checkpoint;
  if (fs::is_directory(file)) file += "/model.safetensors";
  load_weights(file, *e.graph);
  EvalResult r = evaluate_dataset(*e.executor, *e.test_data, config.at("data").at("test_batch_size").get<int64_t>(),
                                  train_loader_options(config));
  return {{"loss", r.loss}, {"accuracy", r.accuracy}, {"samples", r.samples}, {"checkpoint", file}};
}

}  // namespace frugal
