#include "core/config/overrides.h"

#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include "core/config/data_paths.h"
#include "core/config/key_path.h"
#include "core/config/merge.h"
#include "core/config/validate.h"
#include "core/error.h"
#include "core/json_depth.h"

namespace frugal {
namespace {

using json = nlohmann::json;

struct Segment {
  std::string key;                   // an object key, or
  std::optional<std::size_t> index;  // an array index
};

std::string label(const ConfigOverride& o) { return "override '" + o.text + "'"; }

// "a.b[2].c" -> a, b, [2], c. Keys cannot contain '.', '[' or ']'.
std::vector<Segment> split_key_path(const std::string& path, const std::string& text) {
  auto bad = [&](const std::string& why) {
    return ConfigError("override '" + text + "': malformed key path '" + path + "': " + why);
  };
  std::vector<Segment> segments;
  std::size_t i = 0;
  while (i < path.size() || segments.empty()) {
    if (!segments.empty() && path[i] == '[') {
      const std::size_t close = path.find(']', i);
      const std::string digits = close == std::string::npos ? "" : path.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        throw bad("expected [<index>] at position " + std::to_string(i));
      std::size_t index = 0;
      const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (err != std::errc() || end != digits.data() + digits.size())
        throw bad("index " + digits + " at position " + std::to_string(i) + " is too large");
      segments.push_back({"", index});
      i = close + 1;
      continue;
    }
    if (!segments.empty()) {
      if (path[i] != '.') throw bad("expected '.' or '[' at position " + std::to_string(i));
      ++i;
    }
    const std::size_t end = path.find_first_of(".[]", i);
    const std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
    if (key.empty()) throw bad("empty key at position " + std::to_string(i));
    segments.push_back({key, std::nullopt});
    i = end == std::string::npos ? path.size() : end;
  }
  return segments;
}

// Inside an any_of, the alternative that can hold a key (object/map) or an index (array).
const Schema& container_alternative(const Schema& schema, bool want_array) {
  if (schema.kind() != SchemaKind::AnyOf) return schema;
  for (const Schema& alternative : schema.alternatives()) {
    const bool is_array = alternative.kind() == SchemaKind::Array;
    const bool is_object = alternative.kind() == SchemaKind::Object || alternative.kind() == SchemaKind::Map;
    if (want_array ? is_array : is_object) return alternative;
  }
  return schema;
}

}  // namespace

ConfigOverride parse_override(const std::string& text) {
  // Config values must be UTF-8 like the JSON they join: anything else could never be written to the run's
  // config.json or shown in a message (nlohmann::json refuses to dump it).
  try {
    json(text).dump();
  } catch (const json::type_error&) {
    throw ConfigError("override '" + text + "' is not valid UTF-8 text");
  }
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("override '" + text + "': expected key.path=value, e.g. train.epochs=1");
  ConfigOverride o{text, text.substr(0, eq), text.substr(eq + 1)};
  split_key_path(o.key_path, text);  // reject malformed paths early
  // A value nests no deeper than a config file may (core/json_depth.h).
  [[maybe_unused]] const json nesting_checked =
      json::parse(o.raw_value, json_depth_limit<json>([&] {
                    return ConfigError("override '" + (text.size() > 60 ? text.substr(0, 60) + "..." : text) +
                                       "': the value nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
                  }),
                  /*allow_exceptions=*/false);
  return o;
}

json typed_override_value(const std::string& raw_value, const Schema& schema) {
  json parsed = json::parse(raw_value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return raw_value;
  if (schema.accepts_type(parsed)) return parsed;
  if (schema.accepts_type(json(raw_value))) return raw_value;
  return parsed;  // wrong type either way; validation reports it
}

void apply_override(json& config, const Schema& schema, const ConfigOverride& o, ConfigSources& sources,
                    const std::string& cwd) {
  auto fail = [&](const std::string& why) { throw ConfigError(label(o) + ": " + why); };
  json* node = &config;
  const Schema* at = &schema;
  std::string path;
  for (const Segment& segment : split_key_path(o.key_path, o.text)) {
    if (!segment.index) {
      const Schema& holder = container_alternative(*at, false);
      const Schema* child = nullptr;
      if (holder.kind() == SchemaKind::Object)
        child = holder.field(segment.key);
      else if (holder.kind() == SchemaKind::Map)
        child = &holder.element();
      else
        fail(key_path_display(path) + " is " + holder.expected() + ", it has no key '" + segment.key + "'");
      if (!child) fail(unknown_key_message(path, segment.key, holder.field_names(), &schema));
      if (node->is_null()) *node = json::object();
      if (!node->is_object())
        fail(key_path_display(path) + " holds " + describe_json_value(*node) + ", not an object");
      node = &(*node)[segment.key];
      at = child;
      path = key_path_child(path, segment.key);
    } else {
      const Schema& holder = container_alternative(*at, true);
      if (holder.kind() != SchemaKind::Array)
        fail(key_path_display(path) + " is " + holder.expected() + ", not an array");
      const std::size_t length = node->is_array() ? node->size() : 0;
      if (*segment.index >= length)
        fail("index " + std::to_string(*segment.index) + " is out of range for " + key_path_display(path) +
             ", which has " + std::to_string(length) + " element" + (length == 1 ? "" : "s"));
      node = &(*node)[*segment.index];
      at = &holder.element();
      path = key_path_index(path, *segment.index);
    }
  }
  json value = typed_override_value(o.raw_value, *at);
  resolve_config_paths(value, *at, PathBase{cwd, false});
  json merged = *node;
  deep_merge(merged, value);
  sources.record(path, value, label(o));
  // Only the overridden part is checked here; the whole config is validated after all overrides.
  validate_config(merged, *at, [&sources](const std::string& p) { return sources.source_of(p); }, path);
  *node = std::move(merged);
}

}  // namespace frugal
