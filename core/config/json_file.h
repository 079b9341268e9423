// Strict JSON text and files: no comments, no trailing commas, no duplicate keys.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace frugal {

// Parses `text`; `source` names it in errors. Throws ConfigError "<source>:<line>:<column>: invalid JSON:
// <reason>" for syntax errors and "<source>: duplicate key '<key path>'" for a key repeated in one object.
nlohmann::json parse_strict_json(const std::string& text, const std::string& source);

// Reads and parses a file; a missing or unreadable file is a ConfigError naming it.
nlohmann::json read_json_file(const std::string& file);

}  // namespace frugal
