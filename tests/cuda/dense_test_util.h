// What the dense-kernel CUDA tests share: host vectors copied to the GPU and back, and the CPU kernels
// the CUDA ones are held against (through the same Kernels interface). Tolerances are those of issue 13:
// float32 elementwise results within 1e-6 of the CPU's (relative to the largest), sums, convolutions
// and GEMMs within 1e-4 of a float64 reference.
#pragma once
#include <cstring>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "ops/kernels.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/reference_util.h"

namespace frugal::testing {

constexpr double kElementwiseTolerance = 1e-6;
constexpr double kReductionTolerance = 1e-4;

inline const Kernels& cpu_kernels() { return kernels_for(Device::CPU); }

// A host vector's copy in GPU memory; host() brings the current contents back.
template <class T>
class OnGpu {
 public:
  explicit OnGpu(const std::vector<T>& v)
      : n_(static_cast<int64_t>(v.size())),
        tensor_(Tensor::wrap(const_cast<T*>(v.data()), {n_}, dtype_of<T>()).to(Device::CUDA)) {}
  T* get() const { return tensor_.template device_data<T>(); }
  std::vector<T> host() const {
    const Tensor h = tensor_.to(Device::CPU);
    const T* p = h.template data<T>();
    return std::vector<T>(p, p + n_);
  }

 private:
  int64_t n_;
  Tensor tensor_;
};

inline std::vector<float> nan_filled(size_t n) { return std::vector<float>(n, std::nanf("")); }

}  // namespace frugal::testing
