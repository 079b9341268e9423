// frugal sweep --config F --grid key=v1,v2,... [--grid ...] [--set k=v]... [--jobs N] [--output DIR]
#include <filesystem>

#include "cli/commands.h"
#include "training/runs/sweep.h"

namespace frugal::cli {

Action add_sweep_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sweep", "train one run per point of a grid of config values (resumes an interrupted sweep)");
  struct Args {
    ConfigArgs config;
    std::vector<std::string> grid;
    int jobs = 1;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config, true);
  cmd->add_option("--grid", args->grid, "key.path=value1,value2,... (repeatable: the sweep is their product)")
      ->required();
  cmd->add_option("--jobs,-j", args->jobs, "runs trained at once (each a separate process)");
  cmd->add_option("--output,-o", args->output, "sweep directory (default: runs/<name>-sweep)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    SweepOptions opts;
    opts.config_file = args->config.config;
    opts.sets = args->config.sets;
    for (const std::string& g : args->grid) opts.grid.push_back(parse_grid_axis(g));
    opts.dir = args->output;
    opts.jobs = args->jobs;
    opts.frugal_binary = std::filesystem::read_symlink("/proc/self/exe").string();
    return run_sweep(opts);
  };
}

}  // namespace frugal::cli
