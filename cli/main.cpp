// The `frugal` command line: one subcommand per file in cli/.
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"frugal: train networks with less memory, and see where it goes"};
  app.set_version_flag("--version", std::string("frugal ") + FRUGAL_VERSION +
                                        (frugal::cuda_built() ? " (cuda built)" : " (cpu only)"));
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  return 0;
}
