// Fuzz target: loading a config. The input holds up to three parts: the config file, a parent it may
// extend as "base.json", and --set overrides, one a line. Loading follows "extends", applies the
// overrides, validates against frugal's schema and fills defaults, as `frugal train --config` does.
#include <sstream>
#include <string>
#include <vector>

#include "core/config/config_hash.h"
#include "core/config/load_config.h"
#include "tests/fuzz/fuzz_support.h"
#include "training/config/frugal_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  static Scratch scratch("config");
  Parts parts(data, size);
  const std::string config = parts.next(), parent = parts.next();
  std::vector<std::string> overrides;
  std::istringstream lines(parts.next());
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) overrides.push_back(line);
  scratch.clear();
  const std::string file = scratch.write("config.json", config);
  scratch.write("base.json", parent);
  return run_input([&] {
    const nlohmann::json resolved = frugal::load_config(file, frugal::frugal_config_schema(), overrides);
    frugal::config_hash(resolved);
  });
}
