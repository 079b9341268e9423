// Config entry of the dfa mode (network-level: use it as backward.default): {"mode": "dfa",
// "feedback_distribution": "uniform"|"gaussian" (uniform), "feedback_scale": > 0 (1)}.
#include "training/modes/dfa.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_dfa_mode) {
  FeedbackOptions options = parse_feedback_options(entry, "dfa", layer, {"feedback_distribution", "feedback_scale"});
  return std::make_unique<DfaMode>("dfa", options, layer_index, seed);
}

}  // namespace frugal
