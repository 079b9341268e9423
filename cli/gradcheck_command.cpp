// Placeholder: `frugal gradcheck` is being written (issue 6).
#include "cli/commands.h"
#include "core/error.h"

namespace frugal::cli {

Action add_gradcheck_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gradcheck", "compare each layer's gradients under approximate modes with exact ones");
  return [cmd]() -> int {
    if (!cmd->parsed()) return -1;
    throw ConfigError("frugal gradcheck is not available in this build yet");
  };
}

}  // namespace frugal::cli
