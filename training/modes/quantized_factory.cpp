// Builds the `quantized` mode from its config entry. Knobs: bits (2..8; default 4). The mode's other
// knobs in the schema belong to other modes and are refused here.
#include <string>

#include "core/error.h"
#include "training/modes/mode_factories.h"
#include "training/modes/quantized.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_quantized_mode) {
  (void)layer_index;
  (void)seed;
  const std::string where = "backward: mode 'quantized' for layer '" + layer.name() + "'";
  for (const auto& [key, value] : entry.items())
    if (key != "mode" && key != "match" && key != "bits")
      throw ConfigError(where + ": knob '" + key + "' (= " + value.dump() +
                        ") does not apply to this mode (its only knob is 'bits')");
  int bits = kQuantizedDefaultBits;
  if (entry.contains("bits")) {
    const auto& b = entry.at("bits");
    if (!b.is_number_integer() || b.get<int64_t>() < 2 || b.get<int64_t>() > 8)
      throw ConfigError(where + ": knob 'bits' must be an integer from 2 to 8 (BLPA uses 8, 4 or 2), got " +
                        b.dump());
    bits = b.get<int>();
  }
  // An explicit backward.layers entry carries "match"; the default does not. It decides whether a layer
  // with no code to read (a conv after a pool) is an error or falls back to exact.
  return make_quantized_mode_for(layer, bits, entry.contains("match"));
}

}  // namespace frugal
