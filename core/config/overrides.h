// Command-line overrides: `--set train.epochs=1`, `--set model.hidden=[512,512]`,
// `--set backward.layers[0].mode=fewbit`.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "core/config/schema.h"
#include "core/config/sources.h"

namespace frugal {

struct ConfigOverride {
  std::string text;       // as the user wrote it, for messages
  std::string key_path;   // "a.b[2].c"
  std::string raw_value;  // everything after the first '='
};

// Splits "key.path=value"; ConfigError when there is no '=' or the key path is malformed.
ConfigOverride parse_override(const std::string& text);

// The override's value typed by the schema at its key: parsed as JSON when it parses and the schema
// takes that type, else the raw text as a string (so `name=123` and `device=cuda` are strings).
nlohmann::json typed_override_value(const std::string& raw_value, const Schema& schema);

// Sets the override's key in `config` (objects deep-merge, anything else replaces; missing objects on the
// way are created; array indices must exist). The key must exist in `schema` and the value must satisfy
// it, else ConfigError "override '<text>': ...". Relative data paths resolve against `cwd`.
void apply_override(nlohmann::json& config, const Schema& schema, const ConfigOverride& override_,
                    ConfigSources& sources, const std::string& cwd);

}  // namespace frugal
