// One error hierarchy for the whole framework. User errors (bad config, bad data, bad shapes, budgets,
// files) map to exit code 2 in the CLI; anything else is an internal error (exit code 1).
#pragma once
#include <stdexcept>
#include <string>

namespace frugal {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // True when the user can fix it (config, data, shapes, budget, io); false for bugs.
  virtual bool user_error() const { return true; }
};

class ConfigError : public Error { using Error::Error; };
class DataError : public Error { using Error::Error; };
class ShapeError : public Error { using Error::Error; };
class MemoryBudgetError : public Error { using Error::Error; };
class IoError : public Error { using Error::Error; };
class InternalError : public Error {
 public:
  using Error::Error;
  bool user_error() const override { return false; }
};

// FRUGAL_CHECK(cond, ErrorType, message-expression): throws ErrorType(message) when cond is false.
#define FRUGAL_CHECK(cond, ErrorType, msg) \
  do {                                     \
    if (!(cond)) throw ErrorType(msg);     \
  } while (0)

}  // namespace frugal
