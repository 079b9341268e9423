// Tests build config sections by hand; the code reads only validated configs (every schema default
// present), so the sections go through the schema first, as a config file would.
#pragma once
#include <nlohmann/json.hpp>

#include "core/config/validate.h"
#include "training/config/frugal_schema.h"
#include "training/modes/registry.h"

namespace frugal::testing_support {

// `section` ("backward", "model", ...) validated against its part of the schema; key paths in
// messages start at the section, as in a whole config.
inline nlohmann::json validated_section(const std::string& section, const nlohmann::json& value) {
  const Schema* schema = frugal_config_schema().field(section);
  return validate_config(value, *schema, [](const std::string&) { return std::string("test config"); }, section);
}

// assign_backward_modes on a hand-written (partial) backward section.
inline std::vector<std::unique_ptr<BackwardMode>> assign_modes(Graph& graph, const nlohmann::json& backward,
                                                               uint64_t seed) {
  return assign_backward_modes(graph, validated_section("backward", backward), seed);
}

// The same without the schema's checks of values: only the keys the code reads are filled in. For tests
// of a mode's own knob checks, which the schema's ranges would otherwise catch first.
inline std::vector<std::unique_ptr<BackwardMode>> assign_modes_unchecked(Graph& graph, nlohmann::json backward,
                                                                         uint64_t seed) {
  if (!backward.contains("default")) backward["default"] = nlohmann::json::object();
  if (!backward.contains("layers")) backward["layers"] = nlohmann::json::array();
  if (!backward["default"].contains("mode")) backward["default"]["mode"] = "exact";
  for (auto& entry : backward["layers"])
    if (!entry.contains("mode")) entry["mode"] = "exact";
  return assign_backward_modes(graph, backward, seed);
}

}  // namespace frugal::testing_support
