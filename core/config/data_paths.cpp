#include "core/config/data_paths.h"

#include <cstdlib>
#include <filesystem>

namespace frugal {

namespace fs = std::filesystem;

std::string resolve_data_path(const std::string& path, const PathBase& base) {
  if (path.empty()) return path;
  const fs::path written(path);
  if (written.is_absolute()) return written.lexically_normal().string();
  if (base.consult_frugal_data) {
    const char* data_root = std::getenv("FRUGAL_DATA");
    if (data_root && *data_root) {
      const fs::path candidate = fs::path(data_root) / written;
      std::error_code ignored;
      if (fs::exists(candidate, ignored)) return fs::absolute(candidate).lexically_normal().string();
    }
  }
  return fs::absolute(fs::path(base.dir) / written).lexically_normal().string();
}

void resolve_config_paths(nlohmann::json& config, const Schema& schema, const PathBase& base) {
  switch (schema.kind()) {
    case SchemaKind::Object:
      if (!config.is_object()) return;
      for (auto& item : config.items())
        if (const Schema* field = schema.field(item.key())) resolve_config_paths(item.value(), *field, base);
      return;
    case SchemaKind::Map:
    case SchemaKind::Array:
      if (!config.is_object() && !config.is_array()) return;
      if (config.is_object() != (schema.kind() == SchemaKind::Map)) return;
      for (auto& element : config) resolve_config_paths(element, schema.element(), base);
      return;
    case SchemaKind::String:
      if (schema.is_path() && config.is_string()) config = resolve_data_path(config.get<std::string>(), base);
      return;
    case SchemaKind::AnyOf:
      for (const Schema& alternative : schema.alternatives())
        if (alternative.accepts_type(config)) {
          resolve_config_paths(config, alternative, base);
          return;
        }
      return;
    default: return;
  }
}

}  // namespace frugal
