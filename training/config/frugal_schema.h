// The schema of a frugal experiment config (configs/*.json): every section, key, type, range and
// default in one place, frugal_schema.cpp. To add a key, add one line to its section there.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config/config.h"

namespace frugal {

// Sections: name, seed, device, threads, data, model, backward, memory, optimizer, schedule, train,
// output. Built once; safe to call from anywhere.
const Schema& frugal_config_schema();

// load_config with frugal's schema: the resolved config, every default filled. Throws ConfigError.
nlohmann::json load_frugal_config(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace frugal
