// Builds the fewbit mode from its config entry. Knobs: bits (1..4, default 3) and weighting
// ("normal", the default, or "uniform") of the derivative table's L2 fit.
#include "core/error.h"
#include "training/modes/fewbit.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_fewbit_mode) {
  const std::string where = "backward mode 'fewbit' on layer '" + layer.name() + "'";
  for (const auto& [key, value] : entry.items())
    FRUGAL_CHECK(key == "match" || key == "mode" || key == "bits" || key == "weighting", ConfigError,
                 where + ": knob '" + key + "' (= " + value.dump() + ") is not a fewbit knob (expected bits, weighting)");
  int bits = 3;
  if (entry.contains("bits")) {
    FRUGAL_CHECK(entry["bits"].is_number_integer(), ConfigError,
                 where + ": knob 'bits' must be an integer in 1..4, got " + entry["bits"].dump());
    bits = entry["bits"].get<int>();
    FRUGAL_CHECK(bits >= 1 && bits <= 4, ConfigError,
                 where + ": knob 'bits' must be in 1..4, got " + std::to_string(bits));
  }
  FewbitWeighting weighting = FewbitWeighting::Normal;
  if (entry.contains("weighting")) {
    const std::string w = entry["weighting"].is_string() ? entry["weighting"].get<std::string>() : entry["weighting"].dump();
    FRUGAL_CHECK(w == "normal" || w == "uniform", ConfigError,
                 where + ": knob 'weighting' must be \"normal\" or \"uniform\", got '" + w + "'");
    weighting = w == "normal" ? FewbitWeighting::Normal : FewbitWeighting::Uniform;
  }
  return std::make_unique<FewbitMode>(layer, bits, weighting);
}

}  // namespace frugal
