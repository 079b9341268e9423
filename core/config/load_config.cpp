#include "core/config/load_config.h"

#include <algorithm>
#include <filesystem>

#include "core/config/data_paths.h"
#include "core/config/json_file.h"
#include "core/config/merge.h"
#include "core/config/overrides.h"
#include "core/config/sources.h"
#include "core/config/validate.h"
#include "core/error.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kExtendsKey = "extends";

struct ConfigFile {
  std::string label;  // the path as the user would recognise it: given, or joined from "extends"
  std::string dir;    // absolute folder of the file; its relative paths resolve here
  json content;       // without "extends"
};

struct ChainEntry {
  fs::path canonical;
  std::string label;
};

// Appends `label`'s ancestors (root-most first) and then `label` itself to `out`. `open` holds the
// files whose "extends" is being followed, to catch cycles.
void load_chain(const std::string& label, std::vector<ChainEntry>& open, std::vector<ConfigFile>& out) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(label, ec);
  if (ec) canonical = fs::absolute(label);
  auto seen =
      std::find_if(open.begin(), open.end(), [&](const ChainEntry& e) { return e.canonical == canonical; });
  if (seen != open.end()) {
    std::string cycle;
    for (auto it = seen; it != open.end(); ++it) cycle += it->label + " -> ";
    throw ConfigError(open.back().label + ": \"extends\" cycle: " + cycle + label);
  }

  json content = read_json_file(label);
  if (!content.is_object())
    throw ConfigError(label + ": a config must be a JSON object, found " + describe_json_value(content));
  const std::string dir = fs::absolute(label).parent_path().lexically_normal().string();

  if (auto parent = content.find(kExtendsKey); parent != content.end()) {
    if (!parent->is_string() || parent->get<std::string>().empty())
      throw ConfigError(label + ": wrong type for 'extends': expected a non-empty path string, found " +
                        describe_json_value(*parent));
    fs::path parent_path(parent->get<std::string>());
    if (parent_path.is_relative()) parent_path = fs::path(label).parent_path() / parent_path;
    const std::string parent_label = parent_path.lexically_normal().string();
    // The error_code form: a path the system cannot even look up (a name over 255 bytes, a component
    // that is a file) is a bad config, named like a missing one, not an exception from the library.
    std::error_code lookup;
    if (!fs::exists(parent_path, lookup))
      throw ConfigError(label + ": \"extends\": \"" + parent->get<std::string>() + "\" names " +
                        parent_label + (lookup ? ", which cannot be looked up (" + lookup.message() + ")"
                                               : ", which does not exist"));
    content.erase(kExtendsKey);
    open.push_back({canonical, label});
    load_chain(parent_label, open, out);
    open.pop_back();
  }
  out.push_back({label, dir, std::move(content)});
}

}  // namespace

json load_config(const std::string& file, const Schema& schema, const std::vector<std::string>& overrides) {
  std::vector<ChainEntry> open;
  std::vector<ConfigFile> chain;
  load_chain(file, open, chain);

  ConfigSources sources(file);
  json merged = json::object();
  for (ConfigFile& layer : chain) {
    resolve_config_paths(layer.content, schema, PathBase{layer.dir, true});
    sources.record("", layer.content, layer.label);
    deep_merge(merged, layer.content);
  }
  const std::string cwd = fs::current_path().string();
  for (const std::string& text : overrides)
    apply_override(merged, schema, parse_override(text), sources, cwd);

  auto source_of = [&sources](const std::string& path) { return sources.source_of(path); };
  return validate_config(merged, schema, source_of);
}

}  // namespace frugal
