// Config entry of the randomized_trace mode:
//   {"mode": "randomized_trace", "probes": r (16), "probe_mode": "independent"|"gaussian"|"orthogonal"
//    (independent), "probe_distribution": "rademacher"|"gaussian" (rademacher)}.
#include "core/error.h"
#include "training/modes/mode_factories.h"
#include "training/modes/randomized_trace.h"

namespace frugal {
namespace {

std::string string_knob(const nlohmann::json& entry, const std::string& key, const std::string& where,
                        const std::vector<std::string>& choices, const std::string& fallback) {
  if (!entry.contains(key)) return fallback;
  const nlohmann::json& v = entry.at(key);
  if (v.is_string())
    for (const std::string& c : choices)
      if (v.get<std::string>() == c) return c;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw ConfigError(where + ": knob '" + key + "' must be one of " + list + ", got " + v.dump());
}

}  // namespace

FRUGAL_MODE_FACTORY(make_randomized_trace_mode) {
  const std::string where = "backward mode 'randomized_trace' on layer '" + layer.name() + "'";
  for (const auto& [key, value] : entry.items())
    FRUGAL_CHECK(key == "match" || key == "mode" || key == "probes" || key == "probe_mode" ||
                     key == "probe_distribution",
                 ConfigError,
                 where + ": knob '" + key + "' (= " + value.dump() +
                     ") is not a randomized_trace knob (expected probes, probe_mode, probe_distribution)");
  TraceProbes options;
  if (entry.contains("probes")) {
    const nlohmann::json& r = entry.at("probes");
    FRUGAL_CHECK(r.is_number_integer() && r.get<int64_t>() >= 1, ConfigError,
                 where + ": knob 'probes' must be an integer >= 1, got " + r.dump());
    options.count = r.get<int64_t>();
  }
  const std::string mode =
      string_knob(entry, "probe_mode", where, {"independent", "gaussian", "orthogonal"}, "independent");
  options.mode = mode == "independent" ? ProbeMode::Independent
                 : mode == "gaussian"  ? ProbeMode::Gaussian
                                       : ProbeMode::Orthogonal;
  const std::string dist = string_knob(entry, "probe_distribution", where, {"rademacher", "gaussian"}, "rademacher");
  options.distribution = dist == "rademacher" ? ProbeDistribution::Rademacher : ProbeDistribution::Gaussian;
  return std::make_unique<RandomizedTraceMode>(options, layer_index, seed);
}

}  // namespace frugal
