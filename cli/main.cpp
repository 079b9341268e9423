// The `frugal` command line. Exit codes: 0 success, 2 user error (bad config, data, shapes, budget,
// files), 1 internal error.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/blas_setup.h"
#include "cli/commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "ops/gpu_info.h"

int main(int argc, char** argv) {
  frugal::cli::ensure_fast_blas_kernels(argc, argv);
  CLI::App app{"frugal: train networks with less memory, and see where it goes"};
  // The GPU line asks the driver, so it is built only when --version is given.
  app.set_version_flag("--version", std::function<std::string()>([] {
                         const frugal::GpuInventory gpus = frugal::visible_gpus();
                         std::string gpu_line = "gpu: ";
                         for (const frugal::GpuInfo& g : gpus.gpus)
                           gpu_line += (g.index ? ", " : "") + g.name + " (sm_" + std::to_string(g.major) +
                                       std::to_string(g.minor) + ")";
                         if (gpus.gpus.empty()) gpu_line += "none visible (" + gpus.why_none + ")";
                         else gpu_line += ", CUDA driver " + frugal::cuda_version_string(gpus.driver_version);
                         return std::string("frugal ") + FRUGAL_VERSION +
                                (frugal::cuda_built() ? " (cuda built)" : " (cpu only)") + "\n" + gpu_line;
                       }));
  app.require_subcommand(1);
  std::vector<frugal::cli::Action> actions = {
      frugal::cli::add_train_command(app), frugal::cli::add_eval_command(app),
      frugal::cli::add_profile_command(app), frugal::cli::add_data_command(app),
      frugal::cli::add_step_command(app), frugal::cli::add_gradcheck_command(app),
      frugal::cli::add_bench_command(app), frugal::cli::add_devices_command(app),
      frugal::cli::add_sweep_command(app), frugal::cli::add_compare_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    for (auto& action : actions) {
      int rc = action();
      if (rc >= 0) return rc;
    }
    return 0;
  } catch (const frugal::Error& e) {
    frugal::log().error("{}", e.what());
    return e.user_error() ? 2 : 1;
  } catch (const std::exception& e) {
    frugal::log().error("internal error: {}", e.what());
    return 1;
  }
}
