// frugal train --config F [--set k=v]... [--resume DIR] [--init W.safetensors] [--output DIR]
// Under mpirun/srun every rank runs this; they train one model together (docs/distributed.md).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "training/config/frugal_schema.h"
#include "training/distributed/connect.h"
#include "training/trainer.h"

namespace frugal::cli {

Action add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model from a config");
  struct Args {
    ConfigArgs config;
    std::string resume, init, output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config, false);
  cmd->add_option("--resume", args->resume, "continue the run in this directory from its last checkpoint");
  cmd->add_option("--init", args->init, "start from these weights (.safetensors)")->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", args->output, "run directory (default: output.dir or runs/<name>)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    TrainOptions opts;
    nlohmann::json config;
    if (!args->resume.empty()) {
      // A resumed run reads the resolved config it saved; --set may still change e.g. train.epochs.
      std::string saved = args->resume + "/config.json";
      if (!std::filesystem::exists(saved))
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
      const double timeout = config.contains("distributed") ? config["distributed"].value("timeout_s", 300.0) : 300.0;
      comm = connect_job(launch, timeout, parse_device(config.value("device", std::string("cpu"))));
      // Every line says which rank wrote it; ranks other than 0 report only warnings and errors.
      log().set_pattern("[%H:%M:%S.%e] [rank " + std::to_string(comm->rank()) + "] [%^%l%$] %v");
      if (comm->rank() != 0) log().set_level(spdlog::level::warn);
      for (int r = 0; r < comm->size() && r < 64; ++r)
        if (!comm->where(r).empty()) log().info("rank {} of {}: {}", r, comm->size(), comm->where(r));
    }
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
    if (!summary["test"]["accuracy"].is_null())
      std::cout << "final test accuracy: " << summary["test"]["accuracy"].get<double>() * 100 << "%\n";
    return 0;
  };
}

}  // namespace frugal::cli
