#include "training/budget/mode_spec.h"

#include "core/error.h"

namespace frugal {

nlohmann::json parse_mode_spec(const std::string& spec, const std::string& where) {
  nlohmann::json entry;
  size_t start = 0, colon = spec.find(':');
  entry["mode"] = spec.substr(0, colon);
  FRUGAL_CHECK(!entry["mode"].get<std::string>().empty(), ConfigError, where + " '" + spec + "': no mode name");
  while (colon != std::string::npos) {
    start = colon + 1;
    colon = spec.find(':', start);
    const std::string knob = spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const size_t eq = knob.find('=');
    FRUGAL_CHECK(eq != std::string::npos && eq > 0, ConfigError,
                 where + " '" + spec + "': knob '" + knob + "' is not of the form name=value");
    const std::string value = knob.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    entry[knob.substr(0, eq)] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  return entry;
}

std::string mode_spec_of(const nlohmann::json& entry) {
  std::string spec = entry.at("mode").get<std::string>();  // filled in by the schema or parse_mode_spec
  for (const auto& [key, value] : entry.items())
    if (key != "mode" && key != "match") spec += ":" + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  return spec;
}

}  // namespace frugal
