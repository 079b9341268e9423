#include "training/modes/feedback.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "ops/feedback_fill.h"

namespace frugal {

std::string FeedbackOptions::describe() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, scale=%g", distribution == FeedbackDistribution::Uniform ? "uniform" : "gaussian",
                scale);
  return buf;
}

FeedbackOptions parse_feedback_options(const nlohmann::json& entry, const std::string& mode, const Layer& layer,
                                       const std::vector<std::string>& allowed) {
  const std::string where = "backward mode '" + mode + "' on layer '" + layer.name() + "'";
  for (const auto& [key, value] : entry.items()) {
    if (key == "mode" || key == "match") continue;
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok) {
      std::string valid;
      for (const auto& a : allowed) valid += (valid.empty() ? "" : ", ") + a;
      throw ConfigError(where + ": knob '" + key + "' (= " + value.dump() + ") does not apply to this mode (valid: " +
                        valid + ")");
    }
  }
  FeedbackOptions o;
  if (entry.contains("feedback_distribution")) {
    const auto& v = entry.at("feedback_distribution");
    const std::string d = v.is_string() ? v.get<std::string>() : v.dump();
    if (d == "uniform") o.distribution = FeedbackDistribution::Uniform;
    else if (d == "gaussian") o.distribution = FeedbackDistribution::Gaussian;
    else throw ConfigError(where + ": feedback_distribution must be \"uniform\" or \"gaussian\", got " + v.dump());
  }
  if (entry.contains("feedback_scale")) {
    const auto& v = entry.at("feedback_scale");
    if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
      throw ConfigError(where + ": feedback_scale must be a positive number, got " + v.dump());
    o.scale = v.get<float>();
  }
  return o;
}

void fill_feedback(const Kernels& kernels, const FeedbackOptions& options, const RngKey& key, int64_t fan_in,
                   float* out, int64_t count) {
  const float s = options.scale / std::sqrt(static_cast<float>(fan_in));
  const uint64_t k = feedback_fill_key(key.seed, key.stream, key.step);
  if (options.distribution == FeedbackDistribution::Uniform) kernels.feedback_uniform(k, out, count, s);
  else kernels.feedback_normal(k, out, count, s);
}

}  // namespace frugal
