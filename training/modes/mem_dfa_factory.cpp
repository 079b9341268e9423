// Config entry of the mem_dfa mode (network-level: use it as backward.default): the knobs of dfa. Its
// two-pass schedule is run by MemDfaRunner (training/schedules/mem_dfa_runner.h); an executor that runs
// these modes itself computes dfa's gradients with dfa's memory.
#include "training/modes/dfa.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_mem_dfa_mode) {
  FeedbackOptions options =
      parse_feedback_options(entry, "mem_dfa", layer, {"feedback_distribution", "feedback_scale"});
  return std::make_unique<DfaMode>("mem_dfa", options, layer_index, seed);
}

}  // namespace frugal
