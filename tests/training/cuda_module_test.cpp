// The CUDA backend is a module loaded on the first request for the GPU (ops/cuda_module.h): a process that
// only trains on the CPU never maps the CUDA libraries, and in a CUDA build the module loads into an
// executable that does not link it and answers, with or without a GPU on the machine.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.h"
#include "ops/cuda_module.h"
#include "ops/gpu_info.h"
#include "ops/kernels.h"

namespace frugal {
namespace {

// The first mapped file of /proc/self/maps whose path contains one of the CUDA libraries' names, or "".
std::string mapped_cuda_library() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    for (const char* name : {"libcublas", "libcudnn", "libnccl", "libcudart", "libfrugal_cuda"})
      if (line.find(name) != std::string::npos) return line;
  return "";
}

// One test, in this order: the check of a CPU-only process must come before anything loads the module
// (ctest runs each test in a process of its own; run alone with --gtest_filter=CudaModule.*).
TEST(CudaModule, LoadedOnlyWhenTheGpuIsAskedFor) {
  const Kernels& cpu = kernels_for(Device::CPU);
  float x[4] = {1, -2, 3, -4}, y[4] = {};
  cpu.scale(4, 2.0f, x, y);
  EXPECT_EQ(y[3], -8.0f);
  EXPECT_EQ(mapped_cuda_library(), "") << "a CPU-only computation mapped a CUDA library";

  const GpuInventory gpus = visible_gpus();
#ifdef FRUGAL_HAS_CUDA
  EXPECT_TRUE(gpus.cuda_built) << gpus.why_none;
  EXPECT_GT(gpus.runtime_version, 0) << "the module answered without its CUDA runtime";
  EXPECT_NE(mapped_cuda_library(), "") << "visible_gpus() answered without loading the module";
  std::string why;
  EXPECT_NE(cuda_module_symbol("frugal_cuda_kernels", &why), nullptr) << why;
  EXPECT_EQ(cuda_module_symbol("frugal_no_such_entry", &why), nullptr);
  EXPECT_NE(why.find("frugal_no_such_entry"), std::string::npos) << why;
  // Without a GPU the backend refuses to start, naming the GPU as the cause, not the module.
  if (gpus.gpus.empty()) {
    try {
      kernels_for(Device::CUDA);
      ADD_FAILURE() << "the CUDA kernels started without a GPU";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("no usable GPU"), std::string::npos) << e.what();
    }
  }
#else
  EXPECT_FALSE(gpus.cuda_built);
  EXPECT_NE(gpus.why_none.find("no CUDA backend"), std::string::npos) << gpus.why_none;
  EXPECT_THROW(kernels_for(Device::CUDA), ConfigError);
  EXPECT_EQ(mapped_cuda_library(), "");
#endif
}

}  // namespace
}  // namespace frugal
