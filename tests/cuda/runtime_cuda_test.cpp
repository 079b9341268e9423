// The CUDA runtime: tensors cross between host and device unchanged, and a GPU-less machine gets a
// clear error instead of a crash.
#include <gtest/gtest.h>

#include "core/device.h"
#include "core/tensor.h"
#include "tests/cuda/cuda_test_util.h"

namespace frugal {
namespace {

TEST(CudaRuntime, RoundTripKeepsEveryByte) {
  FRUGAL_REQUIRE_GPU(cuda);
  Tensor host = Tensor::empty({3, 5}, DType::F32);
  for (int64_t i = 0; i < host.numel(); ++i) host.f32()[i] = static_cast<float>(i) * 0.37f - 2.0f;
  Tensor device = host.to(Device::CUDA);
  EXPECT_EQ(device.device(), Device::CUDA);
  Tensor back = device.to(Device::CPU);
  for (int64_t i = 0; i < host.numel(); ++i) EXPECT_EQ(back.f32()[i], host.f32()[i]) << i;
}

TEST(CudaRuntime, WithoutAGpuAskingForCudaIsAConfigError) {
  std::string why;
  if (testing::cuda_or_null(&why)) GTEST_SKIP() << "a GPU is visible";
  if (!cuda_built()) {
    EXPECT_THROW(kernels_for(Device::CUDA), ConfigError);
    return;
  }
  EXPECT_THROW(kernels_for(Device::CUDA), ConfigError);
  EXPECT_NE(why.find("cuda"), std::string::npos) << why;
}

}  // namespace
}  // namespace frugal
