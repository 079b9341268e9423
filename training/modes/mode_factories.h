// One factory per backward mode, each defined in that mode's own file; registry.cpp maps config names
// to them. A factory reads the mode's knobs from its config entry (ConfigError for bad ones).
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "training/modes/backward_mode.h"

namespace frugal {

#define FRUGAL_MODE_FACTORY(fn) \
  std::unique_ptr<BackwardMode> fn(const nlohmann::json& entry, Layer& layer, int layer_index, uint64_t seed)

FRUGAL_MODE_FACTORY(make_quantized_mode);
FRUGAL_MODE_FACTORY(make_fewbit_mode);
FRUGAL_MODE_FACTORY(make_randomized_trace_mode);
FRUGAL_MODE_FACTORY(make_outer_product_mode);
FRUGAL_MODE_FACTORY(make_fa_mode);
FRUGAL_MODE_FACTORY(make_dfa_mode);
FRUGAL_MODE_FACTORY(make_mem_dfa_mode);

}  // namespace frugal
