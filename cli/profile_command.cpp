// frugal profile --config F [--steps N] [--set k=v]...: runs a few training steps and writes the memory
// report (memory.json, memory.html) into the run directory, with a short table on the terminal.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/timing_table.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "datasets/loader.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"
#include "training/trainer.h"

namespace frugal::cli {

Action add_profile_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "measure the memory of training steps without full training");
  struct Args {
    ConfigArgs config;
    int steps = 2;
    bool time = false;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config);
  cmd->add_option("--steps", args->steps, "training steps to run (default 2)")->check(CLI::Range(1, 1000000));
  cmd->add_flag("--time", args->time, "also time each layer's forward and backward and the optimizer");
  cmd->add_option("--output,-o", args->output, "directory for memory.json/html (default: the run directory)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    nlohmann::json config = load_config_with_overrides(args->config);
    const std::string dir = args->output.empty() ? run_dir_for(config) : args->output;
    Experiment e = build_experiment(config, ExperimentUse::Train);
    const int64_t batch = config.at("data").value("batch_size", int64_t{128});
    check_training_budget(e, batch);
    LoaderOptions lo = train_loader_options(config);
    Loader loader(*e.train_data, lo);
    loader.start_epoch(0);
    Batch b;
    double optimizer_seconds = 0, step_seconds = 0;
    for (int s = 0; s < args->steps; ++s) {
      if (!loader.next(b)) loader.start_epoch(s), loader.next(b);
      if (args->time && s == 1) e.executor->set_timing(true);  // the first step warms up
      auto t0 = std::chrono::steady_clock::now();
      e.executor->train_step(b.images, b.labels, static_cast<uint64_t>(s), lo.seed);
      auto t1 = std::chrono::steady_clock::now();
      e.optimizer->step(e.schedule->lr_at(s));
      auto t2 = std::chrono::steady_clock::now();
      if (s >= 1) {
        optimizer_seconds += std::chrono::duration<double>(t2 - t1).count();
        step_seconds += std::chrono::duration<double>(t2 - t0).count();
      }
    }
    if (args->time) {
      if (args->steps < 2) throw ConfigError("profile --time needs --steps 2 or more (the first step warms up)");
      std::cout << timing_table(*e.graph, *e.executor, args->steps - 1, optimizer_seconds, step_seconds, batch);
    }
    std::filesystem::create_directories(dir);
    MemoryReport report = training_memory_report(
        e, batch, {{"name", config.at("name")}, {"phase", "profile"}, {"steps", args->steps}});
    write_memory_report(report, dir);
    std::cout << memory_report_table(report);
    std::cout << "memory report: " << dir << "/memory.json, " << dir << "/memory.html\n";
    return 0;
  };
}

}  // namespace frugal::cli
