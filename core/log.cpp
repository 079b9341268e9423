#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace frugal {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::get("frugal");
    if (!l) l = spdlog::stderr_color_mt("frugal");
    l->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    return l;
  }();
  return *logger;
}

}  // namespace frugal
