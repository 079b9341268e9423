// Mode construction and linking may warn (randomized_trace whose sketch saves nothing, or whose input a
// neighbour still keeps): the budget planner builds and runs many assignments that are never trained,
// so it builds them quietly. Errors still show.
#pragma once
#include "core/log.h"

namespace frugal {

class QuietLog {
 public:
  QuietLog() : level_(log().level()) { log().set_level(spdlog::level::err); }
  ~QuietLog() { log().set_level(level_); }
  QuietLog(const QuietLog&) = delete;
  QuietLog& operator=(const QuietLog&) = delete;

 private:
  spdlog::level::level_enum level_;
};

}  // namespace frugal
