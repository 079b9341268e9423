// frugal plan --config F [--budget-mb N | --step-budget-mb N] [--set k=v]... [--output DIR]
// Chooses every layer's backward mode so that the run fits the budget with the least predicted
// gradient error (training/budget/auto_plan.h, docs/memory_budget.md), prints the plan as a table and
// writes auto_plan.json and backward_plan.json (the backward.layers entries that reproduce it) into the
// run directory. --budget-mb is for the whole process (memory.budget_mb); --step-budget-mb for the
// training step alone (arena, weights, gradients, optimizer state). Exit 2 when the budget is below the
// smallest step the candidate modes reach.
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/output_paths.h"
#include "training/budget/auto_plan.h"
#include "training/config/frugal_schema.h"
#include "training/experiment.h"
#include "training/trainer.h"

namespace frugal::cli {

Action add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "choose each layer's backward mode to fit a memory budget");
  struct Args {
    ConfigArgs config;
    double budget_mb = 0, step_budget_mb = 0;
    bool no_uniform = false, smallest = false;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config);
  cmd->add_option("--budget-mb", args->budget_mb, "budget for the whole process, MiB (default: memory.budget_mb)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--step-budget-mb", args->step_budget_mb,
                  "budget for the training step alone (arena and persistent buffers), MiB")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-uniform", args->no_uniform, "skip measuring the uniform single-mode configurations");
  cmd->add_flag("--smallest", args->smallest, "also search for the smallest training step the candidates reach");
  cmd->add_option("--output,-o", args->output, "directory for auto_plan.json and backward_plan.json "
                                               "(default: the run directory)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    nlohmann::json config = load_config_with_overrides(args->config);
    if (!wants_auto_backward(config)) config["backward"]["auto"] = true;
    if (args->budget_mb > 0) config["memory"]["budget_mb"] = args->budget_mb;
    config = validate_config(config, frugal_config_schema(), "frugal plan");
    const std::string dir = args->output.empty() ? run_dir_for(config) : args->output;
    // The plan takes minutes on a large model: where it goes is checked first.
    for (const char* file : {"/auto_plan.json", "/backward_plan.json"}) check_output_file(dir + file);
    AutoPlanRequest request;
    request.process_budget_bytes = static_cast<size_t>(config.at("memory").at("budget_mb").get<double>() * 1048576.0);
    request.step_budget_bytes = static_cast<size_t>(args->step_budget_mb * 1048576.0);
    request.run_dir = dir;
    request.compare_uniform = !args->no_uniform;
    request.find_smallest = args->smallest;
    Experiment e = build_experiment(config, ExperimentUse::Train);
    const AutoPlan plan = plan_backward_for_budget(e, request);
    std::cout << "backward plan for '" << config.at("name").get<std::string>() << "'\n" << auto_plan_table(plan);
    write_auto_plan(plan, dir);
    std::cout << "plan: " << dir << "/auto_plan.json; config entries: " << dir << "/backward_plan.json\n";
    return 0;
  };
}

}  // namespace frugal::cli
