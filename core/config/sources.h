// Remembers which file (or override) set each value of a merged config, so that an error names the
// file the user has to edit rather than the child config that happened to be loaded.
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace frugal {

class ConfigSources {
 public:
  // `fallback` names values nobody set (missing keys, the root): usually the config file loaded.
  explicit ConfigSources(std::string fallback) : fallback_(std::move(fallback)) {}

  // `value` was merged at `path` by `source`: objects merge key by key, anything else replaces the value
  // there together with everything recorded below it.
  void record(const std::string& path, const nlohmann::json& value, const std::string& source);

  // The source of the value at `path`; for a path nobody set, the source of something below it (an
  // unknown object key), else of the nearest value above it, else the fallback.
  std::string source_of(const std::string& path) const;

 private:
  void erase_below(const std::string& path);

  std::string fallback_;
  std::map<std::string, std::string> by_path_;
};

}  // namespace frugal
