#include "core/config/schema.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace frugal {
namespace {

// Bounds print as integers when they are whole numbers: ">= 1" rather than ">= 1.000000".
std::string format_bound(double v) {
  if (std::fabs(v) < 9.2e18 && v == std::trunc(v))
    return std::to_string(static_cast<long long>(v));  // 1048576, not 1.04858e+06
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
  return out;
}

}  // namespace

Schema Schema::object(std::vector<SchemaField> fields) {
  Schema s(SchemaKind::Object);
  for (std::size_t i = 0; i < fields.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (fields[i].first == fields[j].first)
        throw InternalError("Schema::object: key '" + fields[i].first + "' declared twice");
  s.fields_ = std::move(fields);
  return s;
}

Schema Schema::map(const Schema& value) {
  Schema s(SchemaKind::Map);
  s.element_ = std::make_shared<const Schema>(value);
  return s;
}

Schema Schema::array(const Schema& element) {
  Schema s(SchemaKind::Array);
  s.element_ = std::make_shared<const Schema>(element);
  return s;
}

Schema Schema::string() { return Schema(SchemaKind::String); }

Schema Schema::enumeration(std::vector<std::string> allowed) {
  if (allowed.empty()) throw InternalError("Schema::enumeration: needs at least one allowed value");
  Schema s(SchemaKind::String);
  s.allowed_ = std::move(allowed);
  return s;
}

Schema Schema::path() {
  Schema s(SchemaKind::String);
  s.is_path_ = true;
  return s;
}

Schema Schema::integer() { return Schema(SchemaKind::Integer); }
Schema Schema::number() { return Schema(SchemaKind::Number); }
Schema Schema::boolean() { return Schema(SchemaKind::Boolean); }

Schema Schema::any_of(std::vector<Schema> alternatives) {
  if (alternatives.size() < 2) throw InternalError("Schema::any_of: needs at least two alternatives");
  Schema s(SchemaKind::AnyOf);
  s.alternatives_ = std::move(alternatives);
  return s;
}

void Schema::require_kind(bool ok, const char* modifier) const {
  if (!ok) throw InternalError(std::string("Schema::") + modifier + " does not apply to " + expected());
}

Schema& Schema::required() {
  required_ = true;
  return *this;
}

Schema& Schema::def(nlohmann::json value) {
  default_ = std::move(value);
  return *this;
}

Schema& Schema::min(double bound) {
  require_kind(kind_ == SchemaKind::Integer || kind_ == SchemaKind::Number, "min");
  lower_ = bound;
  lower_exclusive_ = false;
  return *this;
}

Schema& Schema::max(double bound) {
  require_kind(kind_ == SchemaKind::Integer || kind_ == SchemaKind::Number, "max");
  upper_ = bound;
  upper_exclusive_ = false;
  return *this;
}

Schema& Schema::min_exclusive(double bound) {
  min(bound);
  lower_exclusive_ = true;
  return *this;
}

Schema& Schema::max_exclusive(double bound) {
  max(bound);
  upper_exclusive_ = true;
  return *this;
}

Schema& Schema::length(std::size_t n) {
  min_length(n);
  return max_length(n);
}

Schema& Schema::min_length(std::size_t n) {
  require_kind(kind_ == SchemaKind::Array, "min_length");
  min_items_ = n;
  return *this;
}

Schema& Schema::max_length(std::size_t n) {
  require_kind(kind_ == SchemaKind::Array, "max_length");
  max_items_ = n;
  return *this;
}

Schema& Schema::describe(std::string text) {
  description_ = std::move(text);
  return *this;
}

const Schema* Schema::field(const std::string& key) const {
  for (const auto& [name, schema] : fields_)
    if (name == key) return &schema;
  return nullptr;
}

std::vector<std::string> Schema::field_names() const {
  std::vector<std::string> names;
  for (const auto& field : fields_) names.push_back(field.first);
  return names;
}

const Schema& Schema::element() const {
  if (!element_) throw InternalError("Schema::element: " + expected() + " has no element schema");
  return *element_;
}

bool Schema::accepts_type(const nlohmann::json& value) const {
  switch (kind_) {
    case SchemaKind::Object:
    case SchemaKind::Map: return value.is_object();
    case SchemaKind::Array: return value.is_array();
    case SchemaKind::String: return value.is_string();
    case SchemaKind::Integer: return value.is_number_integer();
    case SchemaKind::Number: return value.is_number();
    case SchemaKind::Boolean: return value.is_boolean();
    case SchemaKind::AnyOf:
      for (const Schema& alternative : alternatives_)
        if (alternative.accepts_type(value)) return true;
      return false;
  }
  return false;
}

std::string Schema::expected() const {
  std::string bounds;
  if (lower_) bounds += (lower_exclusive_ ? " > " : " >= ") + format_bound(*lower_);
  if (upper_) bounds += (bounds.empty() ? " " : " and ") + std::string(upper_exclusive_ ? "< " : "<= ") +
                        format_bound(*upper_);
  switch (kind_) {
    case SchemaKind::Object: return "an object";
    case SchemaKind::Map: return "an object, each value " + element().expected();
    case SchemaKind::Array: {
      std::string length;
      if (min_items_ && max_items_ && *min_items_ == *max_items_)
        length = " of length " + std::to_string(*min_items_);
      else if (min_items_ || max_items_)
        length = " of length " + std::to_string(min_items_.value_or(0)) + ".." +
                 (max_items_ ? std::to_string(*max_items_) : std::string("any"));
      return "an array" + length + ", each " + element().expected();
    }
    case SchemaKind::String:
      if (!allowed_.empty()) return "one of " + quoted_list(allowed_);
      return is_path_ ? "a path string" : "a string";
    case SchemaKind::Integer: return "an integer" + bounds;
    case SchemaKind::Number: return "a number" + bounds;
    case SchemaKind::Boolean: return "a boolean";
    case SchemaKind::AnyOf: {
      std::string out;
      for (std::size_t i = 0; i < alternatives_.size(); ++i)
        out += (i ? " or " : "") + alternatives_[i].expected();
      return out;
    }
  }
  return "?";
}

std::string describe_json_value(const nlohmann::json& value) {
  constexpr std::size_t kMaxShown = 40;
  std::string shown = value.dump();
  if (shown.size() > kMaxShown) shown = shown.substr(0, kMaxShown) + "...";
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean " + shown;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer " + shown;
    case nlohmann::json::value_t::number_float: return "number " + shown;
    case nlohmann::json::value_t::string: return "string " + shown;
    case nlohmann::json::value_t::array: return "array " + shown;
    case nlohmann::json::value_t::object: return "object " + shown;
    default: return shown;
  }
}

}  // namespace frugal
