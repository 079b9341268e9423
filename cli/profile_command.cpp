// frugal profile --config F [--steps N] [--set k=v]...: runs a few training steps and writes the memory
// report (memory.json, memory.html) into the run directory, with a short table on the terminal.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "cli/commands.h"
#include "cli/timed_steps.h"
#include "cli/timing_table.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/log.h"
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
  cmd->add_flag("--time", args->time, "also time each layer's forward, backward-data and backward-weight, and the optimizer");
  cmd->add_option("--output,-o", args->output, "directory for memory.json/html (default: the run directory)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    nlohmann::json config = load_config_with_overrides(args->config);
    const std::string dir = args->output.empty() ? run_dir_for(config) : args->output;
    require_device(config);
    for (const char* file : {"/memory.json", "/memory.html"}) check_output_file(dir + file);
    Experiment e = build_experiment(config, ExperimentUse::Train);
    if (args->time && args->steps < 2)
      throw ConfigError("profile --time needs --steps 2 or more (the first step warms up)");
    TimedSteps run = run_timed_steps(e, config, 1, args->steps - 1, args->time);
    auto mean_ms = [](const std::vector<double>& s) { return 1e3 * std::accumulate(s.begin(), s.end(), 0.0) / s.size(); };
    if (args->time && !e.step_schedule->times_layers())  // the executor timed no layer
      std::printf("%s (no per-layer times): optimizer %.3f ms; step %.3f ms\n", e.step_schedule->name(), mean_ms(run.optimizer_seconds),
                  mean_ms(run.step_seconds));
    else if (args->time)
      std::cout << timing_table(*e.graph, *e.executor, run);
    const int64_t batch = run.batch;
    // The timed steps' batch staging is gone by now: the device's live bytes no longer hold it.
    MemoryReport report = training_memory_report(
        e, batch, {{"name", config.at("name")}, {"phase", "profile"}, {"steps", args->steps}});
    write_memory_report(report, dir);
    std::cout << memory_report_table(report);
    std::cout << "memory report: " << dir << "/memory.json, " << dir << "/memory.html\n";
    return 0;
  };
}

}  // namespace frugal::cli
