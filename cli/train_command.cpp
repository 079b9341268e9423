// frugal train --config F [--set k=v]... [--resume DIR] [--init W.safetensors] [--output DIR]
// Under mpirun/srun every rank runs this; they train one model together (docs/distributed.md).
//
// SIGINT and SIGTERM stop a run at the next step boundary with a checkpoint (exit code 128 + the
// signal); a second one stops it at once, and the checkpoint before stays the newest complete one.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "training/config/frugal_schema.h"
#include "training/distributed/connect.h"
#include "training/trainer.h"

namespace frugal::cli {
namespace {

std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler may only touch lock-free atomics");

extern "C" void on_stop_signal(int sig) {
  if (stop_signal.exchange(sig) == 0) return;  // the first: the trainer stops at the next step boundary
  // The second: stop at once, as if no handler were installed.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Installed for the duration of a run only: other subcommands keep the default (immediate) behaviour.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in progress continue rather than fail with EINTR
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace

Action add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model from a config");
  struct Args {
    ConfigArgs config;
    std::string resume, init, output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config, false);
  cmd->add_option("--resume", args->resume, "continue the run in this directory from its newest checkpoint");
  cmd->add_option("--init", args->init, "start from these weights (.safetensors)")->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", args->output, "run directory (default: output.dir or runs/<name>)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    TrainOptions opts;
    nlohmann::json config;
    if (!args->resume.empty()) {
      // A resumed run reads the resolved config it saved; --set may still change e.g. train.epochs.
      std::string saved = args->resume + "/config.json";
      if (!std::filesystem::is_regular_file(saved))
        throw IoError(args->resume + " is not a run directory: " + saved + " is missing");
      config = load_frugal_config(args->config.config.empty() ? saved : args->config.config, args->config.sets);
      opts.run_dir = args->resume;
      opts.resume = true;
    } else {
      if (args->config.config.empty()) throw ConfigError("frugal train needs --config FILE (or --resume DIR)");
      config = load_config_with_overrides(args->config);
      opts.run_dir = args->output.empty() ? run_dir_for(config) : args->output;
    }
    opts.init_file = args->init;
    const LaunchInfo launch = detect_launch();
    std::unique_ptr<Communicator> comm;
    if (launch.launched()) {
      comm = connect_job(launch, config.at("distributed").at("timeout_s").get<double>(),
                         parse_device(config.at("device").get<std::string>()));
      // Every line says which rank wrote it; ranks other than 0 report only warnings and errors.
      log().set_pattern("[%H:%M:%S.%e] [rank " + std::to_string(comm->rank()) + "] [%^%l%$] %v");
      if (comm->rank() != 0) log().set_level(spdlog::level::warn);
      for (int r = 0; r < comm->size() && r < 64; ++r)
        if (!comm->where(r).empty()) log().info("rank {} of {}: {}", r, comm->size(), comm->where(r));
    }
    StopSignals signals;
    opts.stop_signal = &stop_signal;
    nlohmann::json summary;
    try {
      summary = run_training(config, opts, comm.get());
    } catch (const std::exception& e) {
      if (!comm || comm->size() == 1) throw;
      // The other ranks would wait for this one until their timeout: end the whole job now.
      const auto* error = dynamic_cast<const Error*>(&e);
      log().error("{}{}", error ? "" : "internal error: ", e.what());
      comm->abort(error && error->user_error() ? 2 : 1);
    }
    comm.reset();  // every rank finished: leave the job
    if (launch.rank != 0) return 0;
    std::cout << "run directory: " << summary["run_dir"].get<std::string>() << "\n";
    if (summary["status"] == "interrupted") return 128 + summary["signal"].get<int>();
    if (!summary["test"]["accuracy"].is_null())
      std::cout << "final test accuracy: " << summary["test"]["accuracy"].get<double>() * 100 << "%\n";
    return 0;
  };
}

}  // namespace frugal::cli
