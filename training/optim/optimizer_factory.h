// The optimizers a config can name (optimizer.name), built from the validated "optimizer" section.
// The config schema enumerates optimizer_names(), so the two cannot disagree.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/parameter.h"
#include "training/optim/parameter_slice.h"
#include "training/optim/optimizer.h"

namespace frugal {

// In the order the schema lists them.
const std::vector<std::string>& optimizer_names();

// `section`: the validated "optimizer" section (every key present); `params`: whole parameters or, under
// data parallelism, this rank's shards of them. Sets each parameter's weight_decay flag from
// decay_bn_and_bias. ConfigError naming optimizer.name when it is not in optimizer_names().
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& section, std::vector<ParameterSlice> params);

}  // namespace frugal
