// The `frugal` command line. Exit codes: 0 success, 2 user error (bad config, data, shapes, budget,
// files), 1 internal error; a training run stopped by SIGINT/SIGTERM exits with 128 + the signal.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <new>

#include "cli/blas_setup.h"
#include "cli/commands.h"
#include "core/config/suggest.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "training/process_memory.h"
#include "ops/gpu_info.h"
#include "training/distributed/launch.h"

namespace {

// CLI11 reports a misspelt subcommand (`frugal trian`, `frugal data inf`) only as "A subcommand is
// required"; name it. Returns false (after printing why) when a word where a subcommand must come is none.
bool words_are_subcommands(const CLI::App& app, int argc, char** argv, int at = 1, const std::string& path = "frugal") {
  const auto subs = app.get_subcommands([](const CLI::App*) { return true; });
  if (subs.empty() || at >= argc || argv[at][0] == '-') return true;
  std::vector<std::string> names;
  for (const CLI::App* sub : subs) names.push_back(sub->get_name());
  const std::string word = argv[at];
  for (const CLI::App* sub : subs)
    if (sub->get_name() == word) return words_are_subcommands(*sub, argc, argv, at + 1, path + " " + word);
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  const auto near = frugal::nearest_match(word, names);
  std::cerr << path << ": unknown command '" << word << "'" << (near ? " (did you mean '" + *near + "'?)" : "")
            << "; commands: " << list << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  frugal::cli::ensure_fast_blas_kernels(argc, argv);
  frugal::startup_resident_bytes();  // code and libraries, before any data (training/process_memory.h)
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
      frugal::cli::add_sweep_command(app), frugal::cli::add_compare_command(app),
      frugal::cli::add_plan_command(app)};
  if (!words_are_subcommands(app, argc, argv)) return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    const frugal::LaunchInfo launch = frugal::detect_launch();
    if (launch.size > 1 && !app.got_subcommand("train"))
      throw frugal::ConfigError("started as rank " + std::to_string(launch.rank) + " of " + std::to_string(launch.size) +
                                " by " + launch.launcher + ": only `frugal train` runs on several ranks "
                                "(docs/distributed.md); run this command as a single process");
    for (auto& action : actions) {
      int rc = action();
      if (rc >= 0) return rc;
    }
    return 0;
  } catch (const frugal::Error& e) {
    frugal::log().error("{}", e.what());
    return e.user_error() ? 2 : 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // Output paths are checked before work starts; this is a path that went bad during the run.
    frugal::log().error("I/O error on '{}': {}", e.path1().string(), e.code().message());
    return 2;
  } catch (const std::bad_alloc&) {
    frugal::log().error("out of memory: the system refused an allocation (lower data.batch_size or the model's size)");
    return 2;
  } catch (const std::exception& e) {
    frugal::log().error("internal error: {}", e.what());
    return 1;
  }
}
