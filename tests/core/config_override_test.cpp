// --set overrides: typed by the schema, checked where they apply, errors naming the override.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/config/config.h"
#include "core/config/overrides.h"
#include "core/error.h"
#include "tests/core/config_test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;
using testing_support::config_error_of;
using testing_support::has_substr;
using testing_support::ScratchDir;

Schema test_schema() {
  return Schema::object({
      {"name", Schema::string().required()},
      {"device", Schema::enumeration({"cpu", "cuda"}).def("cpu")},
      {"train", Schema::object({
                    {"epochs", Schema::integer().min(1).def(10)},
                    {"lr", Schema::number().def(0.1)},
                    {"shuffle", Schema::boolean().def(true)},
                })},
      {"model", Schema::object({{"hidden", Schema::array(Schema::integer().min(1)).def({256})}})},
      {"data", Schema::object({{"path", Schema::path().def("")}})},
      {"tags", Schema::map(Schema::string())},
      {"layers", Schema::array(Schema::object({{"mode", Schema::string()}, {"bits", Schema::integer()}}))},
  });
}

// Loads a small config file with `overrides` applied.
class ConfigOverride : public ::testing::Test {
 protected:
  json load(const std::vector<std::string>& overrides) {
    return load_config(file_, test_schema(), overrides);
  }
  std::string error(const std::vector<std::string>& overrides) {
    return config_error_of([&] { load(overrides); });
  }

  ScratchDir dir_;
  std::string file_ =
      dir_.write("run.json", R"({"name": "run", "train": {"epochs": 5}, "layers": [{"mode": "exact"}]})");
};

TEST_F(ConfigOverride, IntegerTextBecomesAnInteger) {
  json out = load({"train.epochs=1"});
  EXPECT_TRUE(out["train"]["epochs"].is_number_integer());
  EXPECT_EQ(out["train"]["epochs"], 1);
}

TEST_F(ConfigOverride, JsonArrayTextBecomesAnArray) {
  EXPECT_EQ(load({"model.hidden=[512,512]"})["model"]["hidden"], json::array({512, 512}));
}

TEST_F(ConfigOverride, NumberAndBooleanTextAreTyped) {
  json out = load({"train.lr=1e-3", "train.shuffle=false"});
  EXPECT_DOUBLE_EQ(out["train"]["lr"].get<double>(), 1e-3);
  EXPECT_EQ(out["train"]["shuffle"], false);
}

TEST_F(ConfigOverride, StringKeysKeepTheRawText) {
  json out = load({"name=123", "device=cuda", "tags.note=true"});
  EXPECT_EQ(out["name"], "123");  // parses as JSON 123, but the schema wants a string
  EXPECT_EQ(out["device"], "cuda");
  EXPECT_EQ(out["tags"]["note"], "true");
}

TEST_F(ConfigOverride, ValueMayContainEqualsSigns) { EXPECT_EQ(load({"name=a=b"})["name"], "a=b"); }

TEST_F(ConfigOverride, LaterOverridesWin) {
  EXPECT_EQ(load({"train.epochs=2", "train.epochs=3"})["train"]["epochs"], 3);
}

TEST_F(ConfigOverride, ObjectValueMergesIntoTheSection) {
  json out = load({R"(train={"lr": 0.5})"});
  EXPECT_EQ(out["train"]["lr"], 0.5);
  EXPECT_EQ(out["train"]["epochs"], 5);  // from the file
}

TEST_F(ConfigOverride, CreatesSectionsTheFileDoesNotHave) {
  EXPECT_EQ(load({"tags.owner=me"})["tags"], json({{"owner", "me"}}));
}

TEST_F(ConfigOverride, IndexSetsOneArrayElement) {
  json out = load({"layers[0].bits=4", "model.hidden=[1,2,3]", "model.hidden[1]=7"});
  EXPECT_EQ(out["layers"][0], json({{"mode", "exact"}, {"bits", 4}}));
  EXPECT_EQ(out["model"]["hidden"], json::array({1, 7, 3}));
}

TEST_F(ConfigOverride, IndexPastTheEndIsAnError) {
  EXPECT_EQ(error({"layers[1].bits=4"}),
            "override 'layers[1].bits=4': index 1 is out of range for 'layers', which has 1 element");
}

TEST_F(ConfigOverride, UnknownKeyNamesTheOverrideAndSuggestsTheNearestKey) {
  EXPECT_EQ(error({"train.epoch=1"}),
            "override 'train.epoch=1': unknown key 'train.epoch' (did you mean 'train.epochs'?)");
}

TEST_F(ConfigOverride, UnknownTopLevelKeySuggestsItsHomeSection) {
  EXPECT_EQ(error({"epochs=1"}), "override 'epochs=1': unknown key 'epochs' (did you mean 'train.epochs'?)");
}

TEST_F(ConfigOverride, OutOfRangeValueNamesTheOverride) {
  EXPECT_EQ(
      error({"train.epochs=0"}),
      "override 'train.epochs=0': value out of range for 'train.epochs': expected an integer >= 1, found 0");
}

TEST_F(ConfigOverride, WrongTypeNamesTheOverride) {
  EXPECT_EQ(error({"train.epochs=ten"}),
            "override 'train.epochs=ten': wrong type for 'train.epochs': expected an integer >= 1, found "
            "string \"ten\"");
  EXPECT_TRUE(has_substr(error({"model.hidden=[1,0]"}),
                         "override 'model.hidden=[1,0]': value out of range for 'model.hidden[1]'"));
}

TEST_F(ConfigOverride, ValueNotInTheAllowedSetNamesTheOverride) {
  EXPECT_TRUE(has_substr(error({"device=tpu"}), "override 'device=tpu': value not allowed for 'device'"));
}

TEST_F(ConfigOverride, MalformedOverridesAreErrors) {
  EXPECT_EQ(error({"train.epochs"}), "override 'train.epochs': expected key.path=value, e.g. train.epochs=1");
  EXPECT_EQ(error({"=3"}), "override '=3': expected key.path=value, e.g. train.epochs=1");
  EXPECT_TRUE(has_substr(error({"train..epochs=3"}), "malformed key path 'train..epochs'"));
  EXPECT_TRUE(has_substr(error({"layers[x].bits=3"}), "malformed key path 'layers[x].bits'"));
}

TEST_F(ConfigOverride, ValueThatIsNotUtf8IsAnError) {
  // Found by the config fuzz target: such a string was accepted, then dumping the config threw.
  EXPECT_EQ(error({"name=ab\xCB\xD1"}), "override 'name=ab\xCB\xD1' is not valid UTF-8 text");
  EXPECT_EQ(load({"name=caf\xC3\xA9"})["name"], "caf\xC3\xA9");  // é in UTF-8 is fine
}

TEST_F(ConfigOverride, ValueNestedDeeperThanAConfigMayBeIsAnError) {
  EXPECT_TRUE(has_substr(error({"model.hidden=" + std::string(1000, '[') + std::string(1000, ']')}),
                         "the value nests deeper than 64 levels"));
}

TEST_F(ConfigOverride, KeyInsideAScalarIsAnError) {
  EXPECT_EQ(error({"name.first=a"}), "override 'name.first=a': 'name' is a string, it has no key 'first'");
}

TEST_F(ConfigOverride, RelativePathResolvesAgainstTheCurrentDirectory) {
  const std::string expected = (std::filesystem::current_path() / "some/data").lexically_normal().string();
  EXPECT_EQ(load({"data.path=some/data"})["data"]["path"], expected);
  EXPECT_EQ(load({"data.path=/abs/data"})["data"]["path"], "/abs/data");
}

TEST_F(ConfigOverride, ProblemsLeftInTheFileAreStillBlamedOnTheFile) {
  std::string file = dir_.write("bad.json", R"({"name": "run", "train": {"epochs": 0}})");
  std::string message = config_error_of([&] { load_config(file, test_schema(), {"train.lr=0.5"}); });
  EXPECT_EQ(message.rfind(file + ": value out of range for 'train.epochs'", 0), 0u) << message;
}

TEST(ConfigOverrideTyping, FollowsTheSchemaAtTheKey) {
  EXPECT_EQ(typed_override_value("1", Schema::integer()), json(1));
  EXPECT_EQ(typed_override_value("1", Schema::string()), json("1"));
  EXPECT_EQ(typed_override_value("[1, 2]", Schema::array(Schema::integer())), json::array({1, 2}));
  EXPECT_EQ(typed_override_value("hello world", Schema::string()), json("hello world"));
  EXPECT_EQ(typed_override_value("", Schema::string()), json(""));
  EXPECT_EQ(typed_override_value("abc", Schema::integer()), json("abc"));  // left for validation to report
}

}  // namespace
}  // namespace frugal
