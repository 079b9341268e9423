// frugal's config schema: a realistic config validates, every section's defaults fill in, and the
// constraints users hit most often are enforced with messages naming the key.
#include "training/config/frugal_schema.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "tests/core/config_test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;
using testing_support::config_error_of;
using testing_support::has_substr;
using testing_support::ScratchDir;

constexpr const char* kMinimal =
    R"({"name": "tiny", "data": {"dataset": "synthetic"}, "model": {"arch": "mlp"}})";

// A CIFAR-10 ResNet run touching every section, as a paper reproduction would write it.
constexpr const char* kFull = R"({
  "name": "resnet20_cifar10_fewbit",
  "seed": 7,
  "device": "cuda",
  "threads": 8,
  "data": {
    "dataset": "cifar10", "path": "data/cifar-10-batches-bin", "batch_size": 128, "test_batch_size": 1000,
    "train_limit": 0, "test_limit": 0, "drop_last": true, "prefetch": 2, "image_size": 0,
    "workers": 4, "corrupt_images": "skip",
    "augment": {"crop_padding": 4, "horizontal_flip": true, "random_resized_crop": false, "crop_scale": [0.25, 1.0],
                "crop_ratio": [0.75, 1.25]},
    "normalize": {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}
  },
  "model": {"arch": "resnet", "depth": 20, "width": 16, "num_classes": 10, "activation": "relu",
            "batch_norm": true, "cifar_stem": true, "dropout": 0.0},
  "backward": {
    "default": {"mode": "fewbit", "bits": 2, "weighting": "uniform"},
    "layers": [
      {"match": "layer3.*.conv*", "mode": "randomized_trace", "probes": 4, "probe_mode": "orthogonal",
       "probe_distribution": "rademacher"},
      {"match": "layer2.*", "mode": "outer_product", "k_fraction": 0.25, "policy": "weighted", "memory": true,
       "decay": 0.9},
      {"match": "fc", "mode": "dfa", "feedback_distribution": "gaussian", "feedback_scale": 0.5}
    ]
  },
  "memory": {"planner": "static", "budget_mb": 512},
  "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 1e-4,
                "decay_bn_and_bias": false},
  "schedule": {"name": "multistep", "milestones": [100, 150], "gamma": 0.1, "warmup_epochs": 1},
  "train": {"epochs": 200, "max_steps": 0, "log_every": 100, "label_smoothing": 0.1, "eval_every": 5,
            "checkpoint_every": 10},
  "output": {"dir": "runs/resnet20_fewbit", "keep_checkpoints": 3}
})";

class FrugalSchema : public ::testing::Test {
 protected:
  json load(const std::string& text, const std::vector<std::string>& overrides = {}) {
    return load_frugal_config(dir_.write("run.json", text), overrides);
  }
  std::string error(const std::string& text, const std::vector<std::string>& overrides = {}) {
    return config_error_of([&] { load(text, overrides); });
  }
  // The minimal config with `section` replaced by `value`.
  std::string minimal_with(const std::string& section, const json& value) {
    json config = json::parse(kMinimal);
    config[section] = value;
    return config.dump();
  }

  ScratchDir dir_;
};

TEST_F(FrugalSchema, RealisticFullConfigValidatesUnchanged) {
  testing_support::ScopedEnv no_data_root("FRUGAL_DATA", std::nullopt);
  json out = load(kFull);
  json written = json::parse(kFull);
  written["data"]["path"] = dir_.path("data/cifar-10-batches-bin");  // resolved against the config's folder
  // Every value written survives validation; defaults only add keys that were not written.
  for (const auto& section : written.items())
    if (section.value().is_object())
      for (const auto& key : section.value().items())
        EXPECT_EQ(out[section.key()][key.key()], key.value()) << section.key() << "." << key.key();
    else
      EXPECT_EQ(out[section.key()], section.value()) << section.key();
  EXPECT_EQ(out["optimizer"]["betas"], json::array({0.9, 0.999}));  // a default added beside them
}

// A run saves its resolved config and `--resume` loads it again: that must change nothing.
TEST_F(FrugalSchema, ResolvedConfigReloadsToItself) {
  json resolved = load(kFull);
  json reloaded = load_frugal_config(dir_.write("elsewhere/config.json", resolved.dump(2)));
  EXPECT_EQ(reloaded, resolved);
  EXPECT_EQ(config_hash(reloaded), config_hash(resolved));
}

TEST_F(FrugalSchema, MinimalConfigGetsEveryDefault) {
  json out = load(kMinimal);
  EXPECT_EQ(out["seed"], 0);
  EXPECT_EQ(out["device"], "cpu");
  EXPECT_EQ(out["threads"], 0);
  EXPECT_EQ(out["data"]["path"], "");
  EXPECT_EQ(out["data"]["batch_size"], 128);
  EXPECT_EQ(out["data"]["test_batch_size"], 500);
  EXPECT_EQ(out["data"]["drop_last"], true);
  EXPECT_EQ(out["data"]["synthetic"],
            json({{"shape", {1, 28, 28}}, {"classes", 10}, {"train_size", 2048}, {"test_size", 512}}));
  EXPECT_EQ(out["data"]["workers"], 1);
  EXPECT_EQ(out["data"]["corrupt_images"], "error");
  EXPECT_EQ(out["data"]["augment"], json({{"crop_padding", 0},
                                          {"horizontal_flip", false},
                                          {"random_resized_crop", false},
                                          {"crop_scale", {0.08, 1.0}},
                                          {"crop_ratio", {0.75, 4.0 / 3.0}}}));
  EXPECT_EQ(out["data"]["normalize"], json({{"mean", json::array()}, {"std", json::array()}}));
  EXPECT_EQ(out["model"]["hidden"], json::array({256}));
  EXPECT_EQ(out["model"]["channels"], json::array({32, 64}));
  EXPECT_EQ(out["model"]["layers"], json::array());
  EXPECT_EQ(out["backward"], json({{"default", {{"mode", "exact"}}}, {"layers", json::array()}}));
  EXPECT_EQ(out["memory"], json({{"planner", "static"}, {"budget_mb", 0}}));
  EXPECT_EQ(out["optimizer"]["lr"], 0.1);
  EXPECT_EQ(out["optimizer"]["weight_decay"], 5e-4);
  EXPECT_EQ(out["optimizer"]["betas"], json::array({0.9, 0.999}));
  EXPECT_EQ(out["schedule"]["name"], "constant");
  EXPECT_EQ(out["schedule"]["gamma"], 0.1);
  EXPECT_EQ(out["train"]["epochs"], 10);
  EXPECT_EQ(out["train"]["log_every"], 50);
  EXPECT_EQ(out["output"], json({{"dir", ""}, {"keep_checkpoints", 1}}));
}

TEST_F(FrugalSchema, NameDatasetAndArchAreRequired) {
  EXPECT_TRUE(has_substr(error(R"({"data": {"dataset": "mnist"}, "model": {"arch": "mlp"}})"),
                         "missing required key 'name'"));
  EXPECT_TRUE(has_substr(error(minimal_with("data", json::object())), "missing required key 'data.dataset'"));
  EXPECT_TRUE(has_substr(error(minimal_with("model", json::object())), "missing required key 'model.arch'"));
}

TEST_F(FrugalSchema, UnknownDatasetListsTheDatasets) {
  EXPECT_TRUE(
      has_substr(error(minimal_with("data", {{"dataset", "cifar"}})),
                 "value not allowed for 'data.dataset': expected one of \"fashion_mnist\", \"mnist\", "
                 "\"cifar10\", \"cifar100\", \"image_folder\", \"synthetic\", found \"cifar\""));
}

TEST_F(FrugalSchema, MisspeltBackwardModeIsSuggested) {
  EXPECT_TRUE(has_substr(error(minimal_with("backward", {{"default", {{"mode", "fewbits"}}}})),
                         "found \"fewbits\" (did you mean \"fewbit\"?)"));
}

TEST_F(FrugalSchema, ModeKnobsHaveNoSchemaDefaults) {
  json out = load(minimal_with("backward", {{"default", {{"mode", "quantized"}}}}));
  EXPECT_EQ(out["backward"]["default"], json({{"mode", "quantized"}}));
}

TEST_F(FrugalSchema, PerLayerModeEntryNeedsAMatchPattern) {
  json backward = {{"layers", {{{"mode", "fewbit"}, {"bits", 1}}}}};
  EXPECT_TRUE(has_substr(error(minimal_with("backward", backward)),
                         "missing required key 'backward.layers[0].match'"));
}

TEST_F(FrugalSchema, DefaultModeEntryTakesNoMatchPattern) {
  json backward = {{"default", {{"mode", "exact"}, {"match", "*"}}}};
  EXPECT_TRUE(has_substr(error(minimal_with("backward", backward)), "unknown key 'backward.default.match'"));
}

TEST_F(FrugalSchema, ModeKnobRangesAreEnforced) {
  auto with_default = [&](const json& entry) {
    return error(minimal_with("backward", {{"default", entry}}));
  };
  EXPECT_TRUE(
      has_substr(with_default({{"mode", "fewbit"}, {"bits", 9}}),
                 "value out of range for 'backward.default.bits': expected an integer >= 1 and <= 8"));
  EXPECT_TRUE(has_substr(with_default({{"mode", "outer_product"}, {"k_fraction", 0}}),
                         "'backward.default.k_fraction': expected a number > 0 and <= 1, found 0"));
  EXPECT_EQ(with_default({{"mode", "outer_product"}, {"k_fraction", 1}}), "");
  EXPECT_TRUE(
      has_substr(with_default({{"mode", "fa"}, {"feedback_scale", 0}}), "'backward.default.feedback_scale'"));
}

TEST_F(FrugalSchema, HalfOpenRangesRejectOne) {
  EXPECT_TRUE(has_substr(error(kMinimal, {"optimizer.momentum=1"}),
                         "'optimizer.momentum': expected a number >= 0 and < 1"));
  EXPECT_TRUE(has_substr(error(kMinimal, {"model.dropout=1"}), "'model.dropout'"));
  EXPECT_TRUE(has_substr(error(kMinimal, {"train.label_smoothing=1.0"}), "'train.label_smoothing'"));
  EXPECT_EQ(error(kMinimal, {"optimizer.momentum=0.99", "model.dropout=0.5"}), "");
}

TEST_F(FrugalSchema, BetasNeedExactlyTwoValues) {
  EXPECT_TRUE(has_substr(error(kMinimal, {"optimizer.betas=[0.9]"}), "wrong length for 'optimizer.betas'"));
}

TEST_F(FrugalSchema, SyntheticShapeHasOneToThreeDimensions) {
  EXPECT_EQ(load(kMinimal, {"data.synthetic.shape=[784]"})["data"]["synthetic"]["shape"], json::array({784}));
  EXPECT_TRUE(
      has_substr(error(kMinimal, {"data.synthetic.shape=[]"}), "wrong length for 'data.synthetic.shape'"));
  EXPECT_TRUE(has_substr(error(kMinimal, {"data.synthetic.shape=[1,2,3,4]"}), "wrong length"));
}

TEST_F(FrugalSchema, SequentialLayersAreChecked) {
  json model = {{"arch", "sequential"},
                {"layers",
                 {{{"type", "conv2d"}, {"out_channels", 16}, {"kernel", 3}, {"padding", 1}},
                  {{"type", "relu"}},
                  {{"type", "flatten"}},
                  {{"type", "linear"}, {"out_features", 10}}}}};
  EXPECT_EQ(load(minimal_with("model", model))["model"]["layers"][3]["out_features"], 10);
  model["layers"][0].erase("out_channels");
  model["layers"][0]["out_channel"] = 16;
  EXPECT_TRUE(
      has_substr(error(minimal_with("model", model)),
                 "unknown key 'model.layers[0].out_channel' (did you mean 'model.layers[0].out_channels'?)"));
  model["layers"][0] = {{"type", "conv3d"}};
  EXPECT_TRUE(
      has_substr(error(minimal_with("model", model)), "value not allowed for 'model.layers[0].type'"));
}

TEST_F(FrugalSchema, OverridesAreTypedBySchema) {
  json out = load(kMinimal, {"train.epochs=1", "model.hidden=[512,512]", "optimizer.lr=0.01", "name=42"});
  EXPECT_EQ(out["train"]["epochs"], 1);
  EXPECT_EQ(out["model"]["hidden"], json::array({512, 512}));
  EXPECT_EQ(out["optimizer"]["lr"], 0.01);
  EXPECT_EQ(out["name"], "42");
}

TEST_F(FrugalSchema, OverrideOfAMisspeltKeyIsSuggested) {
  EXPECT_EQ(error(kMinimal, {"train.epoch=1"}),
            "override 'train.epoch=1': unknown key 'train.epoch' (did you mean 'train.epochs'?)");
  EXPECT_EQ(error(kMinimal, {"lr=0.1"}),
            "override 'lr=0.1': unknown key 'lr' (did you mean 'optimizer.lr'?)");
}

// Guards the shipped configs against schema changes. Files in a `base/` folder are partial parents, checked
// through the configs that extend them. The repository is FRUGAL_SOURCE_DIR, else found from this file.
TEST(FrugalShippedConfigs, EveryRunnableConfigValidates) {
  const char* source_dir = std::getenv("FRUGAL_SOURCE_DIR");
  const std::filesystem::path repo =
      source_dir ? std::filesystem::path(source_dir)
                 : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  if (!std::filesystem::is_directory(repo / "configs")) GTEST_SKIP() << "no configs folder in " << repo;
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(repo / "configs")) {
    const auto& file = entry.path();
    if (!entry.is_regular_file() || file.extension() != ".json" || file.parent_path().filename() == "base")
      continue;
    EXPECT_NO_THROW(load_frugal_config(file.string())) << file;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no configs/*.json yet";
}

}  // namespace
}  // namespace frugal
