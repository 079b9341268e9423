// Config entry of the mem_dfa mode (network-level: use it as backward.default): the knobs of dfa. An
// experiment with it trains through MemDfaSchedule (training/schedules/mem_dfa_schedule.h), MEM-DFA's
// two-pass step; an executor that ran these modes itself would compute dfa's gradients with dfa's memory.
#include "training/modes/dfa.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_mem_dfa_mode) {
  FeedbackOptions options =
      parse_feedback_options(entry, "mem_dfa", layer, {"feedback_distribution", "feedback_scale"});
  return std::make_unique<DfaMode>("mem_dfa", options, layer_index, seed);
}

}  // namespace frugal
