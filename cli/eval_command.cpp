// frugal eval --config F --checkpoint C [--set k=v]...: test loss and accuracy, printed and written.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "training/trainer.h"

namespace frugal::cli {

Action add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "evaluate a checkpoint on the test split");
  struct Args {
    ConfigArgs config;
    std::string checkpoint, output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config);
  cmd->add_option("--checkpoint", args->checkpoint, "model.safetensors or a checkpoint directory")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--output,-o", args->output, "where to write eval.json (default: beside the checkpoint)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    nlohmann::json config = load_config_with_overrides(args->config);
    std::string out = args->output;
    if (out.empty()) {
      std::filesystem::path p(args->checkpoint);
      out = (std::filesystem::is_directory(p) ? p : p.parent_path()).string() + "/eval.json";
    }
    check_output_file(out);
    nlohmann::json result = run_evaluation(config, args->checkpoint);
    write_file_atomic(out, result.dump(2) + "\n");
    std::cout << "test loss " << result["loss"].get<double>() << ", accuracy "
              << result["accuracy"].get<double>() * 100 << "% on " << result["samples"].get<int64_t>()
              << " samples (written to " << out << ")\n";
    return 0;
  };
}

}  // namespace frugal::cli
