// frugal data info PATH: what a dataset file or directory holds.
#include <iostream>

#include "cli/commands.h"
#include "datasets/dataset.h"

namespace frugal::cli {

Action add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "inspect datasets");
  auto* info = cmd->add_subcommand("info", "describe a dataset file or directory");
  auto path = std::make_shared<std::string>();
  info->add_option("path", *path, "IDX file, MNIST-style directory, CIFAR binaries or image folder")->required();
  cmd->require_subcommand(1);
  return [info, path]() {
    if (!info->parsed()) return -1;
    std::cout << describe_data_path(*path);
    return 0;
  };
}

}  // namespace frugal::cli
