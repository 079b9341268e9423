// Chooses each layer's backward mode from the config's "backward" section:
//   {"default": {"mode": "exact"}, "layers": [{"match": "layer3.*.conv*", "mode": "quantized", "bits": 4}]}
// Entries are matched by glob pattern ('*' any run of characters, '?' one character) on the layer
// name; the first matching entry wins. A mode put on a layer it cannot serve is a ConfigError naming
// both, and so is a pattern that matches no layer.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/graph.h"
#include "training/modes/backward_mode.h"

namespace frugal {

bool glob_match(const std::string& pattern, const std::string& text);

// Makes a mode for one layer from its config entry. `layer_index` and `seed` key the mode's random
// numbers. Throws ConfigError for bad knobs.
using ModeFactory = std::function<std::unique_ptr<BackwardMode>(const nlohmann::json& entry, Layer& layer,
                                                                int layer_index, uint64_t seed)>;
// Registers a mode under its config name (done once by each mode's file).
void register_backward_mode(const std::string& name, ModeFactory factory);
std::vector<std::string> registered_backward_modes();

std::vector<std::unique_ptr<BackwardMode>> assign_backward_modes(Graph& graph, const nlohmann::json& backward,
                                                                 uint64_t seed);

}  // namespace frugal
