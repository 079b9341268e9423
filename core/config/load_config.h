// Loading a config: strict JSON, "extends" chains, --set overrides, validation and defaults.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config/schema.h"

namespace frugal {

// Reads `file`; when it has `"extends": "parent.json"` (relative to the file's folder; recursive) the
// parent is loaded first and the child deep-merged over it (objects key by key; arrays and scalars
// replace). Then each override "key.path=value" is applied in order, the result validated against
// `schema` and defaults filled. Relative Schema::path() strings resolve against the folder of the file
// that set them (or $FRUGAL_DATA/<path> when that exists), an override's against the current directory.
// Returns the resolved config, without "extends". Every problem is a ConfigError naming the file (or
// override) and the key path.
nlohmann::json load_config(const std::string& file, const Schema& schema,
                           const std::vector<std::string>& overrides = {});

}  // namespace frugal
