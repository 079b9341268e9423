// Placeholder until the outer_product mode lands: the config name is known, the mode is not built yet.
#include "core/error.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_outer_product_mode) {
  throw ConfigError("backward mode 'outer_product' is not implemented in this build yet (layer '" + layer.name() + "')");
}

}  // namespace frugal
