// Data paths in configs (Schema::path()) are stored resolved and absolute, so a run's resolved config
// works from any directory.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "core/config/schema.h"

namespace frugal {

// Where a relative path written in a config is looked up.
struct PathBase {
  std::string dir;           // directory the path is relative to (a config file's folder, or the cwd)
  bool consult_frugal_data;  // prefer $FRUGAL_DATA/<path> when that exists
};

// An absolute path stays (normalized); "" stays "" (unset); a relative path resolves to
// $FRUGAL_DATA/<path> when consult_frugal_data, FRUGAL_DATA is set and that exists, else to base.dir/<path>.
std::string resolve_data_path(const std::string& path, const PathBase& base);

// Resolves, in place, every string in `config` that `schema` declares a path. Parts of `config` that do
// not match the schema are left alone (validation reports them later).
void resolve_config_paths(nlohmann::json& config, const Schema& schema, const PathBase& base);

}  // namespace frugal
