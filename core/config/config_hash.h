// A short fingerprint of a resolved config, to tell runs apart and to check that a resumed run uses the
// config it started with.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace frugal {

// FNV-1a 64 of the canonical dump (keys sorted, no whitespace), as 16 lowercase hex digits. Equal JSON
// values give equal hashes whatever their key order in the source text.
std::string config_hash(const nlohmann::json& config);

}  // namespace frugal
