// Each subcommand registers its options on the CLI11 app and returns the action to run after parsing.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::cli {

using Action = std::function<int()>;

// Options shared by every subcommand that takes a config.
struct ConfigArgs {
  std::string config;
  std::vector<std::string> sets;  // --set key.path=value, repeatable
};
void add_config_options(CLI::App& cmd, ConfigArgs& args, bool required = true);
nlohmann::json load_config_with_overrides(const ConfigArgs& args);

Action add_train_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_profile_command(CLI::App& app);
Action add_data_command(CLI::App& app);
Action add_step_command(CLI::App& app);
Action add_gradcheck_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_plan_command(CLI::App& app);
Action add_devices_command(CLI::App& app);
Action add_compare_command(CLI::App& app);
Action add_sweep_command(CLI::App& app);

}  // namespace frugal::cli
