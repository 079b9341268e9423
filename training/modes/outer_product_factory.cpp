// Config entry of the outer_product mode:
//   {"mode": "outer_product", "k": K | "k_fraction": K/B (0.5), "policy": "topk"|"weighted"|"random" (topk),
//    "memory": error feedback (true), "decay": rho in [0, 1] (1)}.
#include "core/error.h"
#include "training/modes/mode_factories.h"
#include "training/modes/outer_product.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_outer_product_mode) {
  const std::string where = "backward mode 'outer_product' on layer '" + layer.name() + "'";
  for (const auto& [key, value] : entry.items())
    FRUGAL_CHECK(key == "match" || key == "mode" || key == "k" || key == "k_fraction" || key == "policy" ||
                     key == "memory" || key == "decay",
                 ConfigError,
                 where + ": knob '" + key + "' (= " + value.dump() +
                     ") is not an outer_product knob (expected k or k_fraction, policy, memory, decay)");
  OuterProductOptions o;
  FRUGAL_CHECK(!(entry.contains("k") && entry.contains("k_fraction")), ConfigError,
               where + ": give either 'k' (= " + entry.value("k", nlohmann::json()).dump() + ") or 'k_fraction' (= " +
                   entry.value("k_fraction", nlohmann::json()).dump() + "), not both");
  if (entry.contains("k")) {
    const auto& v = entry.at("k");
    FRUGAL_CHECK(v.is_number_integer() && v.get<int64_t>() >= 1, ConfigError,
                 where + ": knob 'k' must be an integer >= 1 (outer products per step), got " + v.dump());
    o.k = v.get<int64_t>();
  }
  if (entry.contains("k_fraction")) {
    const auto& v = entry.at("k_fraction");
    FRUGAL_CHECK(v.is_number() && v.get<double>() > 0 && v.get<double>() <= 1, ConfigError,
                 where + ": knob 'k_fraction' must be a number in (0, 1], got " + v.dump());
    o.k_fraction = v.get<double>();
  }
  if (entry.contains("policy")) {
    const auto& v = entry.at("policy");
    const std::string p = v.is_string() ? v.get<std::string>() : "";
    FRUGAL_CHECK(p == "topk" || p == "weighted" || p == "random", ConfigError,
                 where + ": knob 'policy' must be one of topk, weighted, random, got " + v.dump());
    o.policy = p == "topk" ? SamplingPolicy::TopK : p == "weighted" ? SamplingPolicy::Weighted : SamplingPolicy::Random;
  }
  if (entry.contains("memory")) {
    const auto& v = entry.at("memory");
    FRUGAL_CHECK(v.is_boolean(), ConfigError, where + ": knob 'memory' must be true or false, got " + v.dump());
    o.memory = v.get<bool>();
  }
  if (entry.contains("decay")) {
    const auto& v = entry.at("decay");
    FRUGAL_CHECK(v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1, ConfigError,
                 where + ": knob 'decay' must be a number in [0, 1], got " + v.dump());
    FRUGAL_CHECK(o.memory, ConfigError, where + ": knob 'decay' (= " + v.dump() + ") needs memory = true");
    o.decay = v.get<double>();
  }
  return std::make_unique<OuterProductMode>(o, layer, layer_index, seed);
}

}  // namespace frugal
