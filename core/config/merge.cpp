#include "core/config/merge.h"

namespace frugal {

void deep_merge(nlohmann::json& base, const nlohmann::json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (const auto& item : overlay.items()) {
    auto existing = base.find(item.key());
    if (existing == base.end())
      base[item.key()] = item.value();
    else
      deep_merge(*existing, item.value());
  }
}

}  // namespace frugal
