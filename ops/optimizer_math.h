// The per-element arithmetic of the optimizer updates, for the CPU loop (ops/cpu/optimizer_cpu.cpp) and
// the CUDA kernel alike. Each float operation rounds as PyTorch's separate kernels do, so a step matches
// torch.optim's float32 step; the scalars are computed once per parameter on the host (in double, as
// PyTorch's Python floats) by the optimizer.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace frugal {

struct SgdScalars {
  float weight_decay = 0;  // 0 for parameters exempt from decay
  float momentum = 0;
  float keep = 1;          // 1 - dampening
  float neg_lr = 0;
  bool first_step = true;  // the momentum buffer starts as the first gradient
  bool nesterov = false;
};

// grad.add(p, alpha=wd), buf.mul_(momentum).add_(g, alpha=1-dampening), g.add(buf, alpha=momentum),
// p.add_(g, alpha=-lr). `buf` is null without momentum.
FRUGAL_HD inline void sgd_update_element(const SgdScalars& s, float& p, float grad, float* buf) {
  float g = grad;
  if (s.weight_decay != 0.0f) g = g + s.weight_decay * p;
  if (buf) {
    const float b = s.first_step ? g : *buf * s.momentum + s.keep * g;
    *buf = b;
    g = s.nesterov ? g + s.momentum * b : b;
  }
  p = p + s.neg_lr * g;
}

struct AdamWScalars {
  float decay = 1;  // 1 - lr * weight_decay
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float one_minus_beta1 = 0.1f, one_minus_beta2 = 0.001f;
  float neg_step_size = 0;          // -lr / (1 - beta1^t)
  float bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
};

// p.mul_(decay), m.mul_(b1).add_(g, alpha=1-b1), v.mul_(b2).addcmul_(g, g, value=1-b2),
// denom = (v.sqrt() / bias_correction2_sqrt).add_(eps), p.addcdiv_(m, denom, value=-step_size).
FRUGAL_HD inline void adamw_update_element(const AdamWScalars& s, float& p, float g, float& m, float& v) {
  const float pi = p * s.decay;
  const float mi = m * s.beta1 + s.one_minus_beta1 * g;
  const float vi = v * s.beta2 + (s.one_minus_beta2 * g) * g;
  const float denom = sqrtf(vi) / s.bias_correction2_sqrt + s.eps;
  m = mi;
  v = vi;
  p = pi + (s.neg_step_size * mi) / denom;
}

}  // namespace frugal
