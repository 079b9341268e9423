#include "training/optim/optimizer_factory.h"

#include "core/error.h"
#include "training/optim/adamw.h"
#include "training/optim/sgd.h"

namespace frugal {
namespace {

using json = nlohmann::json;
using Factory = std::unique_ptr<Optimizer> (*)(const json& section, std::vector<ParameterSlice> params);

std::unique_ptr<Optimizer> sgd_from(const json& o, std::vector<ParameterSlice> params) {
  SgdOptions s;
  s.momentum = o.at("momentum").get<float>();
  s.nesterov = o.at("nesterov").get<bool>();
  s.weight_decay = o.at("weight_decay").get<float>();
  return make_sgd_for_slices(std::move(params), s);
}

std::unique_ptr<Optimizer> adamw_from(const json& o, std::vector<ParameterSlice> params) {
  AdamWOptions a;
  const auto betas = o.at("betas").get<std::vector<float>>();
  a.beta1 = betas.at(0);
  a.beta2 = betas.at(1);
  a.eps = o.at("eps").get<float>();
  a.weight_decay = o.at("weight_decay").get<float>();
  return make_adamw_for_slices(std::move(params), a);
}

struct NamedOptimizer {
  const char* name;
  Factory make;
};
constexpr NamedOptimizer kOptimizers[] = {{"sgd", sgd_from}, {"adamw", adamw_from}};

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const NamedOptimizer& o : kOptimizers) out.push_back(o.name);
    return out;
  }();
  return names;
}

std::unique_ptr<Optimizer> make_optimizer(const json& section, std::vector<ParameterSlice> params) {
  const bool decay_all = section.at("decay_bn_and_bias").get<bool>();
  // Biases and BN parameters are the 1-D tensors; exempt them from weight decay when asked.
  for (const ParameterSlice& p : params) p.param->weight_decay = decay_all || p.param->value.ndim() > 1;
  const std::string name = section.at("name").get<std::string>();
  for (const NamedOptimizer& o : kOptimizers)
    if (name == o.name) return o.make(section, std::move(params));
  std::string valid;
  for (const std::string& n : optimizer_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw ConfigError("optimizer.name: unknown optimizer '" + name + "' (valid: " + valid + ")");
}

}  // namespace frugal
