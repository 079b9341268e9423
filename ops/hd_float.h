// Float arithmetic that rounds the same on the CPU and in CUDA device code, for the host/device headers
// of the kernels (ops/*_math.h).
//
// The CPU modules build with -ffp-contract=off: a * b + c rounds twice. nvcc contracts such a pair into
// one fused multiply-add by default, which rounds once and can give different bits. The *_rn helpers
// use the device intrinsics that are never contracted, so each operation rounds exactly as on the CPU.
// min/max follow std::min / std::max to the letter (NaN and signed zeros included), which fminf/fmaxf
// do not.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace frugal::hd {

FRUGAL_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
FRUGAL_HD inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
FRUGAL_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
FRUGAL_HD inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
FRUGAL_HD inline double sub_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
FRUGAL_HD inline double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// std::min(a, b) and std::max(a, b): (b < a) ? b : a and (a < b) ? b : a.
template <class T>
FRUGAL_HD inline T min_of(T a, T b) {
  return (b < a) ? b : a;
}
template <class T>
FRUGAL_HD inline T max_of(T a, T b) {
  return (a < b) ? b : a;
}

FRUGAL_HD inline bool is_finite(double x) {
#if defined(__CUDA_ARCH__)
  return isfinite(x);
#else
  return std::isfinite(x);
#endif
}

// The bits of a float as an int32 (std::memcpy on the host, the register move on the device).
FRUGAL_HD inline int32_t float_bits(float v) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(v);
#else
  int32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
#endif
}

}  // namespace frugal::hd
