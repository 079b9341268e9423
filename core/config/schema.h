// A small schema DSL for strict JSON configs. A schema is a tree built once in C++:
//
//   Schema::object({
//       {"epochs", Schema::integer().min(1).def(10).describe("passes over the training set")},
//       {"device", Schema::enumeration({"cpu", "cuda"}).def("cpu")},
//       {"hidden", Schema::array(Schema::integer().min(1)).def({256})},
//   })
//
// Objects have fixed keys (anything else is an error), maps have free keys sharing one value schema.
// A missing object key takes its default when it has one; a missing nested object is validated as `{}`
// so its own defaults fill in; a missing key without default stays absent unless it is `required()`.
// Modifiers that do not fit the kind (min() on a string, ...) throw InternalError: a schema bug.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace frugal {

enum class SchemaKind { Object, Map, Array, String, Integer, Number, Boolean, AnyOf };

class Schema;
using SchemaField = std::pair<std::string, Schema>;

class Schema {
 public:
  static Schema object(std::vector<SchemaField> fields);
  static Schema map(const Schema& value);  // free keys, each value checked by `value`
  static Schema array(const Schema& element);
  static Schema string();
  static Schema enumeration(std::vector<std::string> allowed);  // a string from a fixed set
  static Schema path();  // a string naming a file or folder; relative ones resolve (see load_config)
  static Schema integer();
  static Schema number();  // any JSON number, integers included
  static Schema boolean();
  static Schema any_of(std::vector<Schema> alternatives);  // the first alternative that fits wins

  // Modifiers return *this so they chain on a temporary inside an object's field list.
  Schema& required();
  Schema& def(nlohmann::json value);
  Schema& min(double bound);            // value >= bound (integer, number)
  Schema& max(double bound);            // value <= bound
  Schema& min_exclusive(double bound);  // value > bound
  Schema& max_exclusive(double bound);  // value < bound
  Schema& length(std::size_t n);        // arrays: exactly n elements
  Schema& min_length(std::size_t n);
  Schema& max_length(std::size_t n);
  Schema& describe(std::string text);

  SchemaKind kind() const { return kind_; }
  bool is_path() const { return is_path_; }
  bool is_required() const { return required_; }
  const std::optional<nlohmann::json>& default_value() const { return default_; }
  const std::string& description() const { return description_; }

  const std::vector<SchemaField>& fields() const { return fields_; }  // objects, in declaration order
  const Schema* field(const std::string& key) const;                  // nullptr when not a key here
  std::vector<std::string> field_names() const;
  const Schema& element() const;  // array element or map value
  const std::vector<Schema>& alternatives() const { return alternatives_; }
  const std::vector<std::string>& allowed() const { return allowed_; }

  // Numeric bounds and array lengths; empty when unconstrained.
  std::optional<double> lower() const { return lower_; }
  std::optional<double> upper() const { return upper_; }
  bool lower_exclusive() const { return lower_exclusive_; }
  bool upper_exclusive() const { return upper_exclusive_; }
  std::optional<std::size_t> min_items() const { return min_items_; }
  std::optional<std::size_t> max_items() const { return max_items_; }

  // True when `value`'s JSON type is one this schema takes (values and bounds not checked).
  bool accepts_type(const nlohmann::json& value) const;
  // What this schema expects, for messages: "an integer >= 1", "an array of integer", "one of ...".
  std::string expected() const;

 private:
  explicit Schema(SchemaKind kind) : kind_(kind) {}
  void require_kind(bool ok, const char* modifier) const;

  SchemaKind kind_;
  bool is_path_ = false;
  bool required_ = false;
  std::optional<nlohmann::json> default_;
  std::string description_;
  std::vector<SchemaField> fields_;
  std::shared_ptr<const Schema> element_;
  std::vector<Schema> alternatives_;
  std::vector<std::string> allowed_;
  std::optional<double> lower_, upper_;
  bool lower_exclusive_ = false, upper_exclusive_ = false;
  std::optional<std::size_t> min_items_, max_items_;
};

// Short name of a JSON value's type, with the value when it is small: `integer 3`, `string "gpu"`.
std::string describe_json_value(const nlohmann::json& value);

}  // namespace frugal
