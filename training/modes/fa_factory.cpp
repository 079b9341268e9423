// Config entry of the fa mode: {"mode": "fa", "feedback_distribution": "uniform"|"gaussian" (uniform),
// "feedback_scale": > 0 (1), "memory": keep B as state instead of regenerating it (false)}.
#include "core/error.h"
#include "training/modes/fa.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_fa_mode) {
  FeedbackOptions options =
      parse_feedback_options(entry, "fa", layer, {"feedback_distribution", "feedback_scale", "memory"});
  bool keep = false;
  if (entry.contains("memory")) {
    if (!entry.at("memory").is_boolean())
      throw ConfigError("backward mode 'fa' on layer '" + layer.name() + "': memory must be true or false, got " +
                        entry.at("memory").dump());
    keep = entry.at("memory").get<bool>();
  }
  return std::make_unique<FaMode>(options, keep, layer, layer_index, seed);
}

}  // namespace frugal
