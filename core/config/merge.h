// How a child config (or an override) combines with what it extends.
#pragma once
#include <nlohmann/json.hpp>

namespace frugal {

// Objects merge key by key, recursively; arrays, scalars and null replace what `base` had.
void deep_merge(nlohmann::json& base, const nlohmann::json& overlay);

}  // namespace frugal
