// Human-readable byte counts for reports, tables and error messages.
#pragma once
#include <cstddef>
#include <string>

namespace frugal {

// "512 B", "3.5 KiB", "12.3 MiB", "1.25 GiB".
std::string format_bytes(size_t bytes);
// "+12.5%" / "-3.0%" change of `value` relative to `base`; "n/a" when base is 0.
std::string format_change(size_t value, size_t base);

}  // namespace frugal
