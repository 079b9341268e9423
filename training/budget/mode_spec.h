// A backward mode written on one line, as `frugal gradcheck --modes` and backward.auto.candidates take
// it: a mode name with optional knobs, `quantized:bits=4`, `randomized_trace:probes=32:probe_mode=gaussian`.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace frugal {

// {"mode": name, knob: value, ...}; values parse as JSON where they can (numbers, booleans), else
// stay strings. ConfigError naming `where` and the spec when a knob is not name=value.
nlohmann::json parse_mode_spec(const std::string& spec, const std::string& where);

// The spec of an entry (the inverse of parse_mode_spec; "match" left out), e.g. "quantized:bits=4".
std::string mode_spec_of(const nlohmann::json& entry);

}  // namespace frugal
