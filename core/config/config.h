// The config system in one include: Schema (the DSL), load_config (files, extends, overrides,
// validation), validate_config, config_hash.
#pragma once
#include "core/config/config_hash.h"
#include "core/config/load_config.h"
#include "core/config/schema.h"
#include "core/config/validate.h"
