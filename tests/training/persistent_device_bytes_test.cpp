// persistent_device_bytes (the memory report's planned device bytes besides the arena, on a GPU) counts
// the persistent buffers the plan counts that live on the given device: on the CPU, where all of them
// live, exactly the plan's persistent bytes; on a device that holds none of them, nothing. (On a GPU the
// optimizer's step counter, a host tensor, is the one buffer it leaves out.)
#include <gtest/gtest.h>

#include "core/config/config.h"
#include "training/config/frugal_schema.h"
#include "training/experiment.h"
#include "training/memory_accounting.h"

namespace frugal {
namespace {

Experiment cnn(const nlohmann::json& mode) {
  nlohmann::json config = {
      {"name", "persistent"},
      {"threads", 1},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", 4},
        {"synthetic", {{"shape", {1, 8, 8}}, {"classes", 3}, {"train_size", 8}, {"test_size", 8}}}}},
      {"model", {{"arch", "cnn"}, {"channels", {4}}, {"hidden", {8}}}},
      {"backward", {{"default", mode}}}};
  return build_experiment(validate_config(config, frugal_config_schema(), "test"), ExperimentUse::Train);
}

TEST(PersistentDeviceBytes, CountThePlannedPersistentBuffersOnTheDevice) {
  for (const nlohmann::json& mode : {nlohmann::json{{"mode", "exact"}},
                                     nlohmann::json{{"mode", "outer_product"}, {"k_fraction", 0.5}},
                                     nlohmann::json{{"mode", "fa"}}}) {
    Experiment e = cnn(mode);
    size_t planned = 0;
    full_step_description(e, e.step_schedule->plan(4), &planned);
    EXPECT_EQ(persistent_device_bytes(e, Device::CPU), planned) << mode.dump();
    EXPECT_EQ(persistent_device_bytes(e, Device::CUDA), 0u) << mode.dump();
  }
}

}  // namespace
}  // namespace frugal
