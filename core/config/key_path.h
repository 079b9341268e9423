// Key paths name a place in a config the way users write it: `model.hidden[2]`, `backward.layers[0].mode`.
// The empty path is the config's root.
#pragma once
#include <cstddef>
#include <string>

namespace frugal {

inline std::string key_path_child(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

inline std::string key_path_index(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// How a key path reads inside a message: quoted, or "the config root" for the empty path.
inline std::string key_path_display(const std::string& path) {
  return path.empty() ? std::string("the config root") : "'" + path + "'";
}

}  // namespace frugal
