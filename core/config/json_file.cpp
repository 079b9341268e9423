#include "core/config/json_file.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "core/config/key_path.h"
#include "core/error.h"
#include "core/json_depth.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// 1-based line and column of the character at 1-based byte offset `byte` (nlohmann's error position).
std::pair<std::size_t, std::size_t> line_and_column(const std::string& text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// nlohmann's message reads "[json.exception.parse_error.101] parse error at line 3, column 5: <reason>";
// keep the reason, since the position is reported separately.
std::string parse_error_reason(const std::string& what) {
  const std::size_t at = what.find("parse error");
  const std::size_t colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// Follows the parser's events to know the key path of the key being read and the keys already seen in
// each open object.
class DuplicateKeyGuard {
 public:
  explicit DuplicateKeyGuard(const std::string& source) : source_(source) {}

  bool operator()(int depth, json::parse_event_t event, const json& parsed) {
    if (depth > kMaxJsonDepth)
      throw ConfigError(source_ + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at '" +
                        (frames_.empty() ? std::string() : frames_.back().current) + "'");
    switch (event) {
      case json::parse_event_t::object_start: open(false); break;
      case json::parse_event_t::array_start: open(true); break;
      case json::parse_event_t::key: {
        Frame& top = frames_.back();
        const std::string key = parsed.get<std::string>();
        if (!top.keys.insert(key).second)
          throw ConfigError(source_ + ": duplicate key '" + key_path_child(top.path, key) + "'");
        top.current = key_path_child(top.path, key);
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        advance();
        break;
      case json::parse_event_t::value: advance(); break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    std::string path;     // of this container
    std::string current;  // of the element being read
    std::size_t index = 0;
    std::set<std::string> keys;
  };

  void open(bool is_array) {
    std::string path = frames_.empty() ? "" : frames_.back().current;
    frames_.push_back(Frame{is_array, path, is_array ? key_path_index(path, 0) : path, 0, {}});
  }

  // An element of the enclosing array is complete: the next one has the next index.
  void advance() {
    if (frames_.empty() || !frames_.back().is_array) return;
    Frame& top = frames_.back();
    top.current = key_path_index(top.path, ++top.index);
  }

  std::string source_;
  std::vector<Frame> frames_;
};

}  // namespace

nlohmann::json parse_strict_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text, DuplicateKeyGuard(source));
  } catch (const json::parse_error& e) {
    auto [line, column] = line_and_column(text, e.byte);
    throw ConfigError(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                      ": invalid JSON: " + parse_error_reason(e.what()));
  } catch (const json::out_of_range& e) {  // a number beyond double's range (1e999): no position given
    throw ConfigError(source + ": invalid JSON: " + e.what());
  }
}

nlohmann::json read_json_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot open config file (missing or unreadable)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_strict_json(text.str(), file);
}

}  // namespace frugal
