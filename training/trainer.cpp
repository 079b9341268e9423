#include "training/trainer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/sinks/basic_file_sink.h>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "datasets/loader.h"
#include "memory/profiler.h"
#include "ops/kernels.h"
#include "training/batch_stager.h"
#include "training/checkpoint.h"
#include "training/evaluation.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"
#include "training/runs/run_report.h"

namespace frugal {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string run_dir_for(const nlohmann::json& config) {
  std::string dir = config.at("output").value("dir", std::string());
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
    sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/log.txt", false);
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
}


}  // namespace

nlohmann::json run_training(const nlohmann::json& config, const TrainOptions& opts) {
  const auto start = Clock::now();
  // A device that cannot run (no GPU, no CUDA build) is refused before the run directory exists.
  kernels_for(parse_device(config.value("device", std::string("cpu"))));
  const std::string dir = opts.run_dir;
  fs::create_directories(dir);
  RunLog run_log(dir);
  write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
  const std::string name = config.at("name").get<std::string>();

  Experiment e = build_experiment(config, ExperimentUse::Train);
  const auto& train_cfg = config.at("train");
  const int64_t epochs = train_cfg.value("epochs", int64_t{1});
  const int64_t max_steps = train_cfg.value("max_steps", int64_t{0});
  const int64_t log_every = train_cfg.value("log_every", int64_t{50});
  const int64_t eval_every = train_cfg.value("eval_every", int64_t{1});
  const int64_t checkpoint_every = train_cfg.value("checkpoint_every", int64_t{1});
  const int64_t test_batch = config.at("data").value("test_batch_size", int64_t{500});
  const uint64_t seed = config.value("seed", uint64_t{0});
  const std::string ckpt_dir = dir + "/checkpoint";
  const std::string metrics_file = dir + "/metrics.jsonl";

  log().info("run '{}' in {}: {} on {} ({} train / {} test samples, {} classes), {} parameters", name, dir,
             config.at("model").at("arch").get<std::string>(), e.train_data->describe(), e.train_data->size(),
             e.test_data->size(), e.num_classes, trainable_parameter_count(*e.graph));

  // Plans the training step before a checkpoint loads: modes size their persistent state (e.g. the
  // outer-product error-feedback memory) from the training batch.
  check_training_budget(e, config.at("data").value("batch_size", int64_t{128}));
  e.step_schedule->plan(config.at("data").value("batch_size", int64_t{128}));
  TrainingPosition pos;
  if (opts.resume) {
    pos = load_checkpoint(ckpt_dir, e);
    truncate_metrics(metrics_file, pos.epoch);
    log().info("resumed from {} at epoch {} batch {} (step {})", ckpt_dir, pos.epoch, pos.batch_in_epoch, pos.step);
  } else {
    if (!opts.init_file.empty()) {
      load_weights(opts.init_file, *e.graph);
      log().info("initial weights from {}", opts.init_file);
    }
    write_file_atomic(metrics_file, "");
  }

  Loader loader(*e.train_data, train_loader_options(config));
  BatchStager stager(loader, e.graph->device());  // batches reach the model's device a step ahead
  const int64_t batch = loader.options().batch_size;
  nlohmann::json last_train = {{"loss", nullptr}, {"accuracy", nullptr}};
  nlohmann::json last_test = {{"loss", nullptr}, {"accuracy", nullptr}};
  std::string status = "completed";
  bool memory_report_written = false;
  double images_total = 0, train_seconds_total = 0;

  while (pos.epoch < epochs) {
    const int64_t epoch = pos.epoch;  // 0-based epoch being trained
    stager.start_epoch(epoch, pos.batch_in_epoch);
    const auto epoch_start = Clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    auto window_start = Clock::now();
    int64_t window_images = 0;
    Batch b;
    bool budget_hit = false;
    while (stager.next(b)) {
      const float lr = e.schedule->lr_at(pos.step);
      StepResult r = e.step_schedule->train_step(b.images, b.labels, static_cast<uint64_t>(pos.step), seed, lr);
      if (!std::isfinite(r.loss))
        throw Error("training diverged: loss is " + std::to_string(r.loss) + " at step " + std::to_string(pos.step) +
                    " (epoch " + std::to_string(epoch + 1) + "); lower optimizer.lr");
      ++pos.step;
      ++pos.batch_in_epoch;
      loss_sum += static_cast<double>(r.loss) * r.samples;
      correct += r.correct;
      seen += r.samples;
      window_images += r.samples;
      if (!memory_report_written) {
        MemoryReport report =
            training_memory_report(e, batch, {{"name", name}, {"phase", "training"}}, stager.device_bytes());
        write_memory_report(report, dir);
        memory_report_written = true;
      }
      if (pos.step % log_every == 0) {
        double ips = window_images / std::max(seconds_since(window_start), 1e-9);
        log().info("epoch {} step {} ({}/{}) loss {:.4f} acc {:.2f}% lr {:.4g} {:.0f} img/s mem {} rss {}", epoch + 1,
                   pos.step, pos.batch_in_epoch, e.steps_per_epoch, loss_sum / seen, 100.0 * correct / seen, lr, ips,
                   mib(e.step_schedule->planner().held_bytes()), mib(peak_rss_bytes()));
        window_start = Clock::now();
        window_images = 0;
      }
      if (max_steps > 0 && pos.step >= max_steps) {
        budget_hit = true;
        break;
      }
    }
    const double epoch_seconds = seconds_since(epoch_start);
    images_total += seen;
    train_seconds_total += epoch_seconds;
    if (seen > 0) last_train = {{"loss", loss_sum / seen}, {"accuracy", static_cast<double>(correct) / seen}};
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
      EvalResult t = evaluate_dataset(*e.executor, *e.test_data, test_batch, loader.options());
      last_test = {{"loss", t.loss}, {"accuracy", t.accuracy}};
      pos.best_test_accuracy = std::max(pos.best_test_accuracy, t.accuracy);
      metrics["test_loss"] = t.loss;
      metrics["test_accuracy"] = t.accuracy;
      log().info("epoch {} done: train loss {:.4f} acc {:.2f}% | test loss {:.4f} acc {:.2f}% | {:.1f} s, {:.0f} img/s",
                 epoch + 1, last_train["loss"].get<double>(), 100 * last_train["accuracy"].get<double>(), t.loss,
                 100 * t.accuracy, epoch_seconds, seen / std::max(epoch_seconds, 1e-9));
    }
    if (epoch_done) append_line(metrics_file, metrics.dump());
    write_run_report(dir);  // learning curves so far, beside the memory report
    pos.wall_seconds += epoch_seconds;
    const bool last = budget_hit || pos.epoch >= epochs;
    if ((checkpoint_every > 0 && epoch_done && pos.epoch % checkpoint_every == 0) || last)
      save_checkpoint(ckpt_dir, e, pos);
    if (budget_hit) {
      status = "max_steps";
      break;
    }
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
                            {"run_dir", dir}};
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  write_run_report(dir);
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
  EvalResult r = evaluate_dataset(*e.executor, *e.test_data, config.at("data").value("test_batch_size", int64_t{500}),
                                  train_loader_options(config));
  return {{"loss", r.loss}, {"accuracy", r.accuracy}, {"samples", r.samples}, {"checkpoint", file}};
}

}  // namespace frugal
