#include "training/optim/sgd.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "ops/kernels.h"
#include "training/optim/per_parameter_state.h"

namespace frugal {
namespace {

void check_options(const SgdOptions& o) {
  auto require = [](bool ok, const char* key, float value, const char* expected) {
    if (!ok)
      throw ConfigError(std::string(key) + " must be " + expected + ", got " +
                        std::to_string(value));
  };
  require(std::isfinite(o.momentum) && o.momentum >= 0, "optimizer.momentum", o.momentum, "finite and >= 0");
  require(std::isfinite(o.dampening) && o.dampening >= 0 && o.dampening <= 1, "SGD dampening", o.dampening,
          "in [0, 1]");
  require(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay,
          "finite and >= 0");
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw ConfigError("optimizer.nesterov requires optimizer.momentum > 0 and dampening == 0, got momentum " +
                      std::to_string(o.momentum) + " and dampening " + std::to_string(o.dampening));
}

class Sgd final : public PerParameterStateOptimizer {
 public:
  Sgd(std::vector<ParameterSlice> params, SgdOptions opts, Allocator* alloc)
      : PerParameterStateOptimizer("SGD", std::move(params),
                                   opts.momentum != 0 ? std::vector<std::string>{"momentum_buffer"}
                                                      : std::vector<std::string>{},
                                   alloc),
        opts_(opts) {}

 protected:
  void update(Slot& slot, float lr, int64_t step) override {
    Parameter& param = *slot.param;
    // Scalars as PyTorch rounds them: Python doubles cast to float for the float kernels
    // (ops/optimizer_math.h has the update itself).
    SgdScalars s;
    s.weight_decay = param.weight_decay ? opts_.weight_decay : 0.0f;
    s.momentum = opts_.momentum;
    s.keep = static_cast<float>(1.0 - static_cast<double>(opts_.dampening));
    s.neg_lr = -lr;
    s.first_step = step == 1;
    s.nesterov = opts_.nesterov;
    kernels_for(param.value.device())
        .sgd_update(slot.count, s, slot.value_data(), slot.grad_data(),
                    slot.buffers.empty() ? nullptr : slot.buffers[0].device_f32());
  }

 private:
  SgdOptions opts_;
};

}  // namespace

std::unique_ptr<Optimizer> make_sgd(std::vector<Parameter*> params, SgdOptions opts, Allocator* alloc) {
  return make_sgd_for_slices({params.begin(), params.end()}, opts, alloc);
}

std::unique_ptr<Optimizer> make_sgd_for_slices(std::vector<ParameterSlice> params, SgdOptions opts, Allocator* alloc) {
  check_options(opts);
  return std::make_unique<Sgd>(std::move(params), opts, alloc);
}

}  // namespace frugal
