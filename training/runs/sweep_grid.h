// The points of a sweep: `--grid key=v1,v2,...` axes, their cartesian product, and each point's
// label ("mode=quantized bits=4") and run folder name ("03_mode=quantized_bits=4").
#pragma once
#include <string>
#include <vector>

namespace frugal {

struct GridAxis {
  std::string key;                  // config key path, as for --set
  std::vector<std::string> values;  // as written; each becomes "key=value"
};

// "key=v1,v2,...": values split at commas outside [...], {...} and "..." (so model.hidden=[64,64],[128]
// is two values). ConfigError naming the argument when '=' is missing, the key is empty, a value is
// empty or a bracket is unbalanced.
GridAxis parse_grid_axis(const std::string& text);

struct GridPoint {
  std::vector<std::string> overrides;  // "key=value", one per axis
  std::string label;                   // "name=value" pairs joined by spaces
  std::string dir_name;                // "<index>_<label with unsafe characters replaced>"
};

// Every combination, the first axis varying slowest. Labels use each key's last segment
// (backward.default.bits -> bits) unless two axes share it, then the whole key. ConfigError when no
// axis is given or two axes have the same key.
std::vector<GridPoint> expand_grid(const std::vector<GridAxis>& axes);

}  // namespace frugal
