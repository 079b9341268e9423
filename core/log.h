// Logging goes through spdlog. The CLI may add a file sink (log.txt in the run directory).
#pragma once
#include <spdlog/spdlog.h>

namespace frugal {

// The framework's logger; created on first use, writing to stderr.
spdlog::logger& log();

}  // namespace frugal
