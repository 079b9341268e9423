#include "core/config/config_hash.h"

#include <cstdint>
#include <cstdio>

namespace frugal {

std::string config_hash(const nlohmann::json& config) {
  constexpr std::uint64_t kOffsetBasis = 14695981039346656037ull;
  constexpr std::uint64_t kPrime = 1099511628211ull;
  std::uint64_t hash = kOffsetBasis;
  // nlohmann::json keeps object keys sorted, so dump() is canonical.
  for (unsigned char byte : config.dump()) {
    hash ^= byte;
    hash *= kPrime;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace frugal
