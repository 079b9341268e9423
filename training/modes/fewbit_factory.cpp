// Placeholder until the fewbit mode lands: the config name is known, the mode is not built yet.
#include "core/error.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_fewbit_mode) {
  throw ConfigError("backward mode 'fewbit' is not implemented in this build yet (layer '" + layer.name() + "')");
}

}  // namespace frugal
