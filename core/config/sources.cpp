#include "core/config/sources.h"

#include "core/config/key_path.h"

namespace frugal {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The key path one level up: "a.b[2]" -> "a.b", "a.b" -> "a", "a" -> "".
std::string parent_path(const std::string& path) {
  const std::size_t cut = path.find_last_of(".[");
  return cut == std::string::npos ? "" : path.substr(0, cut);
}

}  // namespace

void ConfigSources::erase_below(const std::string& path) {
  for (const std::string& prefix : {path + ".", path + "["}) {
    auto it = by_path_.lower_bound(prefix);
    while (it != by_path_.end() && starts_with(it->first, prefix)) it = by_path_.erase(it);
  }
}

void ConfigSources::record(const std::string& path, const nlohmann::json& value, const std::string& source) {
  if (value.is_object()) {
    for (const auto& item : value.items()) record(key_path_child(path, item.key()), item.value(), source);
    return;
  }
  erase_below(path);
  by_path_[path] = source;
}

std::string ConfigSources::source_of(const std::string& path) const {
  if (auto it = by_path_.find(path); it != by_path_.end()) return it->second;
  for (const std::string& prefix : {path + ".", path + "["}) {
    auto it = by_path_.lower_bound(prefix);
    if (it != by_path_.end() && starts_with(it->first, prefix)) return it->second;
  }
  for (std::string up = path; !up.empty();) {
    up = parent_path(up);
    if (auto it = by_path_.find(up); it != by_path_.end()) return it->second;
  }
  return fallback_;
}

}  // namespace frugal
