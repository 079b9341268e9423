#include "cli/commands.h"
#include "training/config/frugal_schema.h"

namespace frugal::cli {

void add_config_options(CLI::App& cmd, ConfigArgs& args, bool required) {
  auto* opt = cmd.add_option("--config,-c", args.config, "experiment config (JSON)");
  if (required) opt->required();
  cmd.add_option("--set", args.sets, "override a config key: --set train.epochs=1 (repeatable)");
}

nlohmann::json load_config_with_overrides(const ConfigArgs& args) {
  return load_frugal_config(args.config, args.sets);
}

}  // namespace frugal::cli
