#include "training/modes/registry.h"

#include <map>

#include "core/error.h"
#include "training/modes/exact.h"
#include "training/modes/mode_factories.h"
#include "training/modes/recompute.h"

namespace frugal {
namespace {

std::map<std::string, ModeFactory>& factories() {
  static std::map<std::string, ModeFactory> f = [] {
    std::map<std::string, ModeFactory> m;
    m["exact"] = [](const nlohmann::json&, Layer&, int, uint64_t) { return std::make_unique<ExactMode>(); };
    m["recompute"] = [](const nlohmann::json& entry, Layer& layer, int, uint64_t) -> std::unique_ptr<BackwardMode> {
      for (const auto& [key, value] : entry.items())
        if (key != "mode" && key != "match")
          throw ConfigError("backward mode 'recompute' on layer '" + layer.name() + "': knob '" + key + "' (= " +
                            value.dump() + ") does not apply (recompute has no knobs)");
      return std::make_unique<RecomputeMode>();
    };
    m["quantized"] = make_quantized_mode;
    m["fewbit"] = make_fewbit_mode;
    m["randomized_trace"] = make_randomized_trace_mode;
    m["outer_product"] = make_outer_product_mode;
    m["fa"] = make_fa_mode;
    m["dfa"] = make_dfa_mode;
    m["mem_dfa"] = make_mem_dfa_mode;
    return m;
  }();
  return f;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative wildcard matching with backtracking to the last '*'.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void register_backward_mode(const std::string& name, ModeFactory factory) { factories()[name] = std::move(factory); }

std::vector<std::string> registered_backward_modes() {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories()) names.push_back(name);
  return names;
}

std::unique_ptr<BackwardMode> make_backward_mode(const nlohmann::json& entry, Layer& layer, int layer_index,
                                                 uint64_t seed) {
  const std::string name = entry.at("mode").get<std::string>();  // filled in by the schema
  auto it = factories().find(name);
  if (it == factories().end())
    throw ConfigError("backward mode '" + name + "' is not available in this build (available: " +
                      join(registered_backward_modes()) + ")");
  return it->second(entry, layer, layer_index, seed);
}

std::vector<std::unique_ptr<BackwardMode>> assign_backward_modes(Graph& graph, const nlohmann::json& backward,
                                                                 uint64_t seed) {
  const nlohmann::json& def = backward.at("default");
  const nlohmann::json& overrides = backward.at("layers");
  std::vector<bool> used(overrides.size(), false);
  std::vector<std::unique_ptr<BackwardMode>> modes;
  for (int i = 0; i < graph.size(); ++i) {
    Layer& layer = graph.layer(i);
    const nlohmann::json* entry = &def;
    std::string source = "backward.default";
    // The first matching entry wins; later ones that also match count as used (they match a layer).
    for (size_t k = 0; k < overrides.size(); ++k)
      if (glob_match(overrides[k].at("match").get<std::string>(), layer.name())) {
        if (entry == &def) {
          entry = &overrides[k];
          source = "backward.layers[" + std::to_string(k) + "]";
        }
        used[k] = true;
      }
    const std::string name = entry->at("mode").get<std::string>();
    auto it = factories().find(name);
    if (it == factories().end())
      throw ConfigError(source + ".mode: backward mode '" + name + "' is not available in this build (available: " +
                        join(registered_backward_modes()) + ")");
    std::unique_ptr<BackwardMode> mode;
    try {
      mode = it->second(*entry, layer, i, seed);
    } catch (const ConfigError& e) {  // a bad knob: say which entry of the config holds it
      throw ConfigError(source + ": " + e.what());
    }
    if (!mode->supports(layer)) {
      // The default applies to every layer, so a default that cannot serve a layer falls back to
      // exact there (or to the mode it names for that layer); an explicit override that cannot serve its layer is an error.
      if (source == "backward.default" && name != "exact") {
        const nlohmann::json fallback = mode->default_fallback(layer);
        modes.push_back(fallback.is_null() ? std::make_unique<ExactMode>()
                                           : factories().at(fallback.at("mode").get<std::string>())(fallback, layer, i, seed));
        continue;
      }
      throw ConfigError(source + ": backward mode '" + name + "' cannot serve layer '" + layer.name() + "' (" +
                        layer.kind() + ")");
    }
    modes.push_back(std::move(mode));
  }
  for (size_t k = 0; k < overrides.size(); ++k)
    if (!used[k])
      throw ConfigError("backward.layers[" + std::to_string(k) + "].match: pattern '" +
                        overrides[k].at("match").get<std::string>() + "' matches no layer");
  return modes;
}

}  // namespace frugal
