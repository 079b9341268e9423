// frugal data info PATH: what a dataset file or directory holds.
// frugal data bench --config F ...: the data pipeline's throughput (data_bench_command.cpp).
#include <iostream>

#include "cli/commands.h"
#include "datasets/dataset.h"

namespace frugal::cli {

CLI::App* add_data_bench_subcommand(CLI::App& data, Action* action);

Action add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "inspect datasets, time the data pipeline");
  auto* info = cmd->add_subcommand("info", "describe a dataset file or directory");
  auto path = std::make_shared<std::string>();
  info->add_option("path", *path, "IDX file, MNIST-style directory, CIFAR binaries or image folder")->required();
  auto bench = std::make_shared<Action>();
  add_data_bench_subcommand(*cmd, bench.get());
  cmd->require_subcommand(1);
  return [info, path, bench]() {
    if (!info->parsed()) return (*bench)();
    std::cout << describe_data_path(*path);
    return 0;
  };
}

}  // namespace frugal::cli
