#include "training/runs/sweep_grid.h"

#include <cctype>

#include "core/error.h"

namespace frugal {
namespace {

std::string last_segment(const std::string& key) {
  const size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string display_value(const std::string& value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

// Folder names keep letters, digits and . _ = + -; brackets and quotes are dropped ([32,32] -> 32-32),
// anything else becomes '-'. Long labels are cut.
std::string safe_name(const std::string& label) {
  std::string out;
  for (char c : label) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '[' || c == ']' || c == '{' || c == '}' || c == '"')
      continue;
    else if (c == ' ')
      out += '_';
    else if (std::isalnum(u) || c == '.' || c == '_' || c == '=' || c == '+' || c == '-')
      out += c;
    else
      out += '-';
  }
  return out.size() > 80 ? out.substr(0, 80) : out;
}

}  // namespace

GridAxis parse_grid_axis(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--grid '" + text + "': expected key.path=value1,value2,... e.g. backward.default.bits=2,4,8");
  GridAxis axis{text.substr(0, eq), {}};
  const std::string values = text.substr(eq + 1);
  int depth = 0;
  bool quoted = false;
  std::string current;
  for (char c : values) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == '[' || c == '{')) ++depth;
    if (!quoted && (c == ']' || c == '}') && --depth < 0)
      throw ConfigError("--grid '" + text + "': unbalanced '" + std::string(1, c) + "'");
    if (c == ',' && depth == 0 && !quoted) {
      axis.values.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0 || quoted) throw ConfigError("--grid '" + text + "': unclosed bracket or quote");
  axis.values.push_back(current);
  for (const std::string& v : axis.values)
    if (v.empty()) throw ConfigError("--grid '" + text + "': empty value (values are separated by commas)");
  return axis;
}

std::vector<GridPoint> expand_grid(const std::vector<GridAxis>& axes) {
  if (axes.empty()) throw ConfigError("a sweep needs at least one --grid key=value1,value2,...");
  std::vector<std::string> names;
  for (size_t a = 0; a < axes.size(); ++a) {
    for (size_t b = 0; b < a; ++b)
      if (axes[a].key == axes[b].key) throw ConfigError("--grid: key '" + axes[a].key + "' is given twice");
    names.push_back(last_segment(axes[a].key));
  }
  for (size_t a = 0; a < axes.size(); ++a)
    for (size_t b = 0; b < axes.size(); ++b)
      if (a != b && last_segment(axes[a].key) == last_segment(axes[b].key)) names[a] = axes[a].key;

  size_t total = 1;
  for (const GridAxis& axis : axes) total *= axis.values.size();
  const size_t width = std::max<size_t>(2, std::to_string(total - 1).size());
  std::vector<GridPoint> points;
  for (size_t i = 0; i < total; ++i) {
    GridPoint p;
    size_t rest = i, stride = total;
    for (size_t a = 0; a < axes.size(); ++a) {
      stride /= axes[a].values.size();
      const std::string& value = axes[a].values[rest / stride];
      rest %= stride;
      p.overrides.push_back(axes[a].key + "=" + value);
      p.label += (p.label.empty() ? "" : " ") + names[a] + "=" + display_value(value);
    }
    std::string index = std::to_string(i);
    index.insert(0, width - index.size(), '0');
    p.dir_name = index + "_" + safe_name(p.label);
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace frugal
