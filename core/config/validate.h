// Validation of a JSON config against a Schema: every key known, every value of the right type, in range
// and in its allowed set, required keys present; defaults filled in.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/config/schema.h"

namespace frugal {

// Names where the value at a key path came from ("configs/base.json", "override 'a.b=1'"), so that an
// error points at the file the user has to edit.
using ConfigSourceLookup = std::function<std::string(const std::string& key_path)>;

// Returns `config` with defaults filled; throws ConfigError "<source>: <problem> '<key path>': expected
// ..., found ..." for the first problem (unknown keys come with the nearest valid key when one is close).
nlohmann::json validate_config(const nlohmann::json& config, const Schema& schema, const std::string& source);

// As above, with a per-key source. `at` is where `config` sits inside a larger config whose schema is
// `schema` at that place (key paths in messages start from it); empty for a whole config.
nlohmann::json validate_config(const nlohmann::json& config, const Schema& schema,
                               const ConfigSourceLookup& source_of, const std::string& at = "");

// "unknown key 'x.y'" with a suggestion: the nearest key among `valid_keys` when one is close, else the
// full key path of a field named `key` elsewhere under `root` (objects only), else the list of valid keys.
std::string unknown_key_message(const std::string& parent_path, const std::string& key,
                                const std::vector<std::string>& valid_keys, const Schema* root);

}  // namespace frugal
