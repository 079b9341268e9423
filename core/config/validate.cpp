#include "core/config/validate.h"

#include <algorithm>

#include "core/config/key_path.h"
#include "core/config/suggest.h"
#include "core/error.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// Full key path of the first object field named `key` below `schema` (breadth-first, objects only).
std::string find_field_elsewhere(const Schema& schema, const std::string& key) {
  std::vector<std::pair<std::string, const Schema*>> level{{"", &schema}};
  while (!level.empty()) {
    std::vector<std::pair<std::string, const Schema*>> next;
    for (const auto& [path, object] : level)
      for (const auto& [name, child] : object->fields()) {
        if (name == key) return key_path_child(path, name);
        if (child.kind() == SchemaKind::Object) next.push_back({key_path_child(path, name), &child});
      }
    level = std::move(next);
  }
  return "";
}

class Validator {
 public:
  Validator(const ConfigSourceLookup& source_of, const Schema* root) : source_of_(source_of), root_(root) {}

  json check(const json& value, const Schema& schema, const std::string& path) {
    switch (schema.kind()) {
      case SchemaKind::Object: return check_object(value, schema, path);
      case SchemaKind::Map: return check_map(value, schema, path);
      case SchemaKind::Array: return check_array(value, schema, path);
      case SchemaKind::AnyOf: return check_any_of(value, schema, path);
      default: return check_scalar(value, schema, path);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& message) const {
    throw ConfigError(source_of_(path) + ": " + message);
  }

  void require_type(const json& value, const Schema& schema, const std::string& path) const {
    if (!schema.accepts_type(value))
      fail(path, "wrong type for " + key_path_display(path) + ": expected " + schema.expected() + ", found " +
                     describe_json_value(value));
  }

  json check_object(const json& value, const Schema& schema, const std::string& path) {
    require_type(value, schema, path);
    for (const auto& item : value.items())
      if (!schema.field(item.key()))
        fail(key_path_child(path, item.key()),
             unknown_key_message(path, item.key(), schema.field_names(), root_));
    json out = json::object();
    for (const auto& [key, field] : schema.fields()) {
      const std::string child = key_path_child(path, key);
      if (value.contains(key)) {
        out[key] = check(value[key], field, child);
      } else if (field.is_required()) {
        std::string about = field.description().empty() ? "" : " (" + field.description() + ")";
        fail(child, "missing required key '" + child + "': expected " + field.expected() + about);
      } else if (field.default_value()) {
        out[key] = check_default(*field.default_value(), field, child);
      } else if (field.kind() == SchemaKind::Object) {
        out[key] = check(json::object(), field, child);  // fills the nested defaults
      }
    }
    return out;
  }

  json check_default(const json& value, const Schema& schema, const std::string& path) {
    try {
      return check(value, schema, path);
    } catch (const ConfigError& e) {
      throw InternalError("schema default for '" + path + "' does not satisfy its own schema: " + e.what());
    }
  }

  json check_map(const json& value, const Schema& schema, const std::string& path) {
    require_type(value, schema, path);
    json out = json::object();
    for (const auto& item : value.items())
      out[item.key()] = check(item.value(), schema.element(), key_path_child(path, item.key()));
    return out;
  }

  json check_array(const json& value, const Schema& schema, const std::string& path) {
    require_type(value, schema, path);
    const std::size_t n = value.size();
    if ((schema.min_items() && n < *schema.min_items()) || (schema.max_items() && n > *schema.max_items()))
      fail(path, "wrong length for " + key_path_display(path) + ": expected " + schema.expected() +
                     ", found " + std::to_string(n) + " element" + (n == 1 ? "" : "s"));
    json out = json::array();
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(check(value[i], schema.element(), key_path_index(path, i)));
    return out;
  }

  json check_scalar(const json& value, const Schema& schema, const std::string& path) {
    require_type(value, schema, path);
    if (!schema.allowed().empty()) {
      const auto& allowed = schema.allowed();
      const std::string found = value.get<std::string>();
      if (std::find(allowed.begin(), allowed.end(), found) == allowed.end()) {
        auto near = nearest_match(found, allowed);
        fail(path, "value not allowed for " + key_path_display(path) + ": expected " + schema.expected() +
                       ", found \"" + found + "\"" + (near ? " (did you mean \"" + *near + "\"?)" : ""));
      }
    }
    if (value.is_number()) {
      const double v = value.get<double>();
      bool low = schema.lower() && (schema.lower_exclusive() ? v <= *schema.lower() : v < *schema.lower());
      bool high = schema.upper() && (schema.upper_exclusive() ? v >= *schema.upper() : v > *schema.upper());
      if (low || high)
        fail(path, "value out of range for " + key_path_display(path) + ": expected " + schema.expected() +
                       ", found " + value.dump());
    }
    return value;
  }

  // With exactly one alternative of the value's type, its specific error is the useful one; otherwise the
  // first alternative that accepts the value wins.
  json check_any_of(const json& value, const Schema& schema, const std::string& path) {
    std::vector<const Schema*> fitting;
    for (const Schema& alternative : schema.alternatives())
      if (alternative.accepts_type(value)) fitting.push_back(&alternative);
    if (fitting.empty()) require_type(value, schema, path);  // throws the type error
    for (std::size_t i = 0; i + 1 < fitting.size(); ++i) {
      try {
        return check(value, *fitting[i], path);
      } catch (const ConfigError&) {
        // try the next alternative; the last one reports its own error
      }
    }
    return check(value, *fitting.back(), path);
  }

  const ConfigSourceLookup& source_of_;
  const Schema* root_;
};

}  // namespace

std::string unknown_key_message(const std::string& parent_path, const std::string& key,
                                const std::vector<std::string>& valid_keys, const Schema* root) {
  std::string message = "unknown key '" + key_path_child(parent_path, key) + "'";
  if (auto near = nearest_match(key, valid_keys))
    return message + " (did you mean '" + key_path_child(parent_path, *near) + "'?)";
  if (root) {
    std::string elsewhere = find_field_elsewhere(*root, key);
    if (!elsewhere.empty()) return message + " (did you mean '" + elsewhere + "'?)";
  }
  std::string list;
  for (const std::string& valid : valid_keys) list += (list.empty() ? "" : ", ") + valid;
  return message + " (valid keys here: " + (list.empty() ? "none" : list) + ")";
}

nlohmann::json validate_config(const nlohmann::json& config, const Schema& schema,
                               const std::string& source) {
  return validate_config(config, schema, [&source](const std::string&) { return source; });
}

nlohmann::json validate_config(const nlohmann::json& config, const Schema& schema,
                               const ConfigSourceLookup& source_of, const std::string& at) {
  // A whole config can point a misplaced key at its home elsewhere; a piece of one cannot see the root.
  Validator validator(source_of, at.empty() ? &schema : nullptr);
  return validator.check(config, schema, at);
}

}  // namespace frugal
