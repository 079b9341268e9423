// Placeholder until the mem_dfa mode lands: the config name is known, the mode is not built yet.
#include "core/error.h"
#include "training/modes/mode_factories.h"

namespace frugal {

FRUGAL_MODE_FACTORY(make_mem_dfa_mode) {
  throw ConfigError("backward mode 'mem_dfa' is not implemented in this build yet (layer '" + layer.name() + "')");
}

}  // namespace frugal
