// Not a test: the MEM-DFA counterpart of `frugal profile` and `frugal train` until the trainer runs
// MemDfaRunner itself (see docs/results/feedback_alignment.md). Disabled by default; run with
//   FRUGAL_MEMDFA_CONFIG=configs/... [FRUGAL_MEMDFA_SET='k=v;k=v'] [FRUGAL_MEMDFA_OUT=dir]
//   [FRUGAL_MEMDFA_STEPS=3] test_training --gtest_also_run_disabled_tests --gtest_filter='MemDfaExperiment.*'
// Profile: times steps (the first warms up) and writes memory.json/html of the mem_dfa plan.
// Train: the trainer's loop (shuffled batches, lr schedule, optimizer step after each MEM-DFA step),
// then the test accuracy.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "datasets/loader.h"
#include "training/config/frugal_schema.h"
#include "training/evaluation.h"
#include "training/experiment.h"
#include "training/schedules/mem_dfa_report.h"

namespace frugal {
namespace {

std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

nlohmann::json experiment_config() {
  std::vector<std::string> overrides;
  std::stringstream ss(env("FRUGAL_MEMDFA_SET"));
  for (std::string item; std::getline(ss, item, ';');)
    if (!item.empty()) overrides.push_back(item);
  overrides.push_back("backward.default.mode=mem_dfa");
  return load_frugal_config(env("FRUGAL_MEMDFA_CONFIG"), overrides);
}

LoaderOptions loader_options(const nlohmann::json& config, bool shuffle) {
  const auto& d = config.at("data");
  LoaderOptions lo;
  lo.batch_size = d.value("batch_size", int64_t{128});
  lo.shuffle = shuffle;
  lo.seed = config.value("seed", uint64_t{0});
  lo.mean = d.at("normalize").value("mean", std::vector<float>{});
  lo.std = d.at("normalize").value("std", std::vector<float>{});
  return lo;
}

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

TEST(MemDfaExperiment, DISABLED_Profile) {
  if (env("FRUGAL_MEMDFA_CONFIG").empty()) GTEST_SKIP() << "set FRUGAL_MEMDFA_CONFIG";
  nlohmann::json config = experiment_config();
  Experiment e = build_experiment(config, ExperimentUse::Train);
  MemDfaRunner runner(*e.executor, config.at("memory").at("planner").get<std::string>(), e.num_classes,
                      config.at("train").value("label_smoothing", 0.0f));
  LoaderOptions lo = loader_options(config, false);
  Loader loader(*e.train_data, lo);
  loader.start_epoch(0);
  const int steps = std::stoi(env("FRUGAL_MEMDFA_STEPS", "3"));
  double step_seconds = 0;
  Batch b;
  for (int s = 0; s < steps; ++s) {
    loader.next(b);
    auto t0 = std::chrono::steady_clock::now();
    runner.train_step(b.images, b.labels, s, lo.seed);
    e.optimizer->step(e.schedule->lr_at(s));
    if (s >= 1) step_seconds += seconds(t0, std::chrono::steady_clock::now());
  }
  std::printf("mem_dfa step %.3f ms\n", 1e3 * step_seconds / std::max(steps - 1, 1));
  MemoryReport report = mem_dfa_memory_report(e, runner, lo.batch_size, {{"name", config.at("name")}});
  write_memory_report(report, env("FRUGAL_MEMDFA_OUT", "runs/mem_dfa_profile"));
  std::cout << memory_report_table(report);
}

TEST(MemDfaExperiment, DISABLED_Train) {
  if (env("FRUGAL_MEMDFA_CONFIG").empty()) GTEST_SKIP() << "set FRUGAL_MEMDFA_CONFIG";
  nlohmann::json config = experiment_config();
  Experiment e = build_experiment(config, ExperimentUse::Train);
  MemDfaRunner runner(*e.executor, config.at("memory").at("planner").get<std::string>(), e.num_classes,
                      config.at("train").value("label_smoothing", 0.0f));
  LoaderOptions lo = loader_options(config, true);
  Loader loader(*e.train_data, lo);
  const int64_t epochs = config.at("train").value("epochs", int64_t{1});
  const uint64_t seed = config.value("seed", uint64_t{0});
  int64_t step = 0;
  auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.start_epoch(epoch);
    Batch b;
    double loss = 0;
    int64_t correct = 0, seen = 0;
    while (loader.next(b)) {
      StepResult r = runner.train_step(b.images, b.labels, static_cast<uint64_t>(step), seed);
      e.optimizer->step(e.schedule->lr_at(step));
      ++step;
      loss += double(r.loss) * r.samples;
      correct += r.correct;
      seen += r.samples;
    }
    EvalResult t = evaluate_dataset(*e.executor, *e.test_data, config.at("data").value("test_batch_size", int64_t{500}),
                                    lo);
    std::printf("epoch %lld: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s\n",
                static_cast<long long>(epoch + 1), loss / seen, 100.0 * correct / seen, t.loss, 100 * t.accuracy,
                seconds(start, std::chrono::steady_clock::now()));
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace frugal
