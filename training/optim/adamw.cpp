#include "training/optim/adamw.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "training/optim/per_parameter_state.h"

namespace frugal {
namespace {

void check_options(const AdamWOptions& o) {
  auto require = [](bool ok, const char* key, float value, const char* expected) {
    if (!ok)
      throw ConfigError(std::string("AdamW option '") + key + "' must be " + expected + ", got " +
                        std::to_string(value));
  };
  require(o.beta1 >= 0 && o.beta1 < 1, "beta1", o.beta1, "in [0, 1)");
  require(o.beta2 >= 0 && o.beta2 < 1, "beta2", o.beta2, "in [0, 1)");
  require(std::isfinite(o.eps) && o.eps >= 0, "eps", o.eps, "finite and >= 0");
  require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "weight_decay", o.weight_decay,
          "finite and >= 0");
}

class AdamW final : public PerParameterStateOptimizer {
 public:
  AdamW(std::vector<Parameter*> params, AdamWOptions opts, Allocator* alloc)
      : PerParameterStateOptimizer("AdamW", std::move(params), {"exp_avg", "exp_avg_sq"}, alloc),
        opts_(opts) {}

 protected:
  void update(Slot& slot, float lr, int64_t step) override {
    Parameter& param = *slot.param;
    float* p = param.value.f32();
    const float* grad = param.grad.f32();
    float* m = slot.buffers[0].f32();
    float* v = slot.buffers[1].f32();
    const int64_t n = param.value.numel();

    // Scalars are computed in double (PyTorch's Python floats) and cast to float for the float kernels.
    const double lr_d = lr, beta1 = opts_.beta1, beta2 = opts_.beta2;
    const double wd = param.weight_decay ? opts_.weight_decay : 0.0;
    const auto t = static_cast<double>(step);
    const float decay = static_cast<float>(1.0 - lr_d * wd);
    const float b1 = opts_.beta1, b2 = opts_.beta2, eps = opts_.eps;
    const float one_minus_b1 = static_cast<float>(1.0 - beta1);
    const float one_minus_b2 = static_cast<float>(1.0 - beta2);
    const float neg_step_size = static_cast<float>(-(lr_d / (1.0 - std::pow(beta1, t))));
    const float bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, t)));

    // Each float operation rounds as PyTorch's separate kernels do: p.mul_(decay),
    // m.mul_(b1).add_(g, alpha=1-b1), v.mul_(b2).addcmul_(g, g, value=1-b2),
    // denom = (v.sqrt() / bias_correction2_sqrt).add_(eps), p.addcdiv_(m, denom, value=-step_size).
#pragma omp parallel for schedule(static) if (n >= kParallelUpdateThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float g = grad[i];
      const float pi = p[i] * decay;
      const float mi = m[i] * b1 + one_minus_b1 * g;
      const float vi = v[i] * b2 + (one_minus_b2 * g) * g;
      const float denom = std::sqrt(vi) / bias_correction2_sqrt + eps;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi + (neg_step_size * mi) / denom;
    }
  }

 private:
  AdamWOptions opts_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw(std::vector<Parameter*> params, AdamWOptions opts, Allocator* alloc) {
  check_options(opts);
  return std::make_unique<AdamW>(std::move(params), opts, alloc);
}

}  // namespace frugal
