#include "training/optim/adamw.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "ops/kernels.h"
#include "training/optim/per_parameter_state.h"

namespace frugal {
namespace {

void check_options(const AdamWOptions& o) {
  auto require = [](bool ok, const char* key, float value, const char* expected) {
    if (!ok)
      throw ConfigError(std::string(key) + " must be " + expected + ", got " +
                        std::to_string(value));
  };
  require(o.beta1 >= 0 && o.beta1 < 1, "optimizer.betas[0]", o.beta1, "in [0, 1)");
  require(o.beta2 >= 0 && o.beta2 < 1, "optimizer.betas[1]", o.beta2, "in [0, 1)");
  require(std::isfinite(o.eps) && o.eps >= 0, "optimizer.eps", o.eps, "finite and >= 0");
  require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay,
          "finite and >= 0");
}

class AdamW final : public PerParameterStateOptimizer {
 public:
  AdamW(std::vector<ParameterSlice> params, AdamWOptions opts, Allocator* alloc)
      : PerParameterStateOptimizer("AdamW", std::move(params), {"exp_avg", "exp_avg_sq"}, alloc),
        opts_(opts) {}

 protected:
  void update(Slot& slot, float lr, int64_t step) override {
    Parameter& param = *slot.param;

    // Scalars are computed in double (PyTorch's Python floats) and cast to float for the float kernels.
    const double lr_d = lr, beta1 = opts_.beta1, beta2 = opts_.beta2;
    const double wd = param.weight_decay ? opts_.weight_decay : 0.0;
    const auto t = static_cast<double>(step);
    AdamWScalars s;
    s.decay = static_cast<float>(1.0 - lr_d * wd);
    s.beta1 = opts_.beta1;
    s.beta2 = opts_.beta2;
    s.eps = opts_.eps;
    s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
    s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
    s.neg_step_size = static_cast<float>(-(lr_d / (1.0 - std::pow(beta1, t))));
    s.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, t)));
    kernels_for(param.value.device())
        .adamw_update(slot.count, s, slot.value_data(), slot.grad_data(), slot.buffers[0].device_f32(),
                      slot.buffers[1].device_f32());
  }

 private:
  AdamWOptions opts_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw(std::vector<Parameter*> params, AdamWOptions opts, Allocator* alloc) {
  return make_adamw_for_slices({params.begin(), params.end()}, opts, alloc);
}

std::unique_ptr<Optimizer> make_adamw_for_slices(std::vector<ParameterSlice> params, AdamWOptions opts, Allocator* alloc) {
  check_options(opts);
  return std::make_unique<AdamW>(std::move(params), opts, alloc);
}

}  // namespace frugal
