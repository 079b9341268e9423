// The CUDA backend is a module (libfrugal_cuda.so) that the process loads the first time something asks
// for the GPU, so that a run on the CPU never maps cuBLAS, cuDNN or NCCL: with them linked into the
// executable, every process paid ~200 MiB of resident memory at start-up for their relocations
// (docs/design.md, "The CUDA backend module"). The module resolves frugal's own functions from the
// executable that loads it (executables export them), and hands out its entry points by name.
#pragma once
#include <string>

namespace frugal {

// The address of the module's entry point `name` (an extern "C" function), loading the module on first
// use; nullptr when the build has no CUDA backend or the module cannot be loaded, with *why set (if
// given) to the reason: the path tried and the loader's message.
void* cuda_module_symbol(const char* name, std::string* why = nullptr);

// As cuda_module_symbol, but a missing module or entry point is a ConfigError naming it.
void* require_cuda_module_symbol(const char* name);

}  // namespace frugal
