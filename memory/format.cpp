#include "memory/format.h"

#include <cstdio>

namespace frugal {

std::string format_bytes(size_t bytes) {
  char text[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024)
    std::snprintf(text, sizeof text, "%zu B", bytes);
  else if (bytes < (size_t{1} << 20))
    std::snprintf(text, sizeof text, "%.1f KiB", b / 1024.0);
  else if (bytes < (size_t{1} << 30))
    std::snprintf(text, sizeof text, "%.1f MiB", b / (1024.0 * 1024.0));
  else
    std::snprintf(text, sizeof text, "%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
  return text;
}

std::string format_change(size_t value, size_t base) {
  if (base == 0) return "n/a";
  char text[32];
  const double change =
      100.0 * (static_cast<double>(value) - static_cast<double>(base)) / static_cast<double>(base);
  std::snprintf(text, sizeof text, "%+.1f%%", change);
  return text;
}

}  // namespace frugal
