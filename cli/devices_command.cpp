// frugal devices: the GPUs this machine shows frugal (name, memory, compute capability) with the CUDA
// driver and runtime versions, or "no GPU visible (<why>)". Always exit 0: a machine without a GPU is
// an answer, not an error.
#include <iostream>

#include "cli/commands.h"
#include "ops/gpu_info.h"

namespace frugal::cli {

Action add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "list the GPUs frugal can use");
  return [cmd]() {
    if (!cmd->parsed()) return -1;
    const GpuInventory inv = visible_gpus();
    std::cout << "cpu: available\n" << describe_gpus(inv);
    return 0;
  };
}

}  // namespace frugal::cli
