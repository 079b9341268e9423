// Validation against a Schema: defaults, and one test per kind of error with its exact message.
#include <gtest/gtest.h>

#include "core/config/config.h"
#include "core/config/suggest.h"
#include "core/error.h"
#include "tests/core/config_test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;
using testing_support::config_error_of;
using testing_support::has_substr;

Schema test_schema() {
  return Schema::object({
      {"name", Schema::string().required()},
      {"device", Schema::enumeration({"cpu", "cuda"}).def("cpu")},
      {"train", Schema::object({
                    {"epochs", Schema::integer().min(1).def(10)},
                    {"lr", Schema::number().min_exclusive(0).def(0.1)},
                })},
      {"model", Schema::object({
                    {"hidden", Schema::array(Schema::integer().min(1)).def({256})},
                    {"dropout", Schema::number().min(0).max_exclusive(1)},
                })},
      {"betas", Schema::array(Schema::number()).length(2)},
      {"tags", Schema::map(Schema::string())},
      {"size", Schema::any_of({Schema::integer().min(1), Schema::array(Schema::integer()).length(2)})},
  });
}

json valid(const json& config) { return validate_config(config, test_schema(), "x.json"); }

// The ConfigError message validation throws for `config`, or "" when it passes.
std::string error_of(const json& config) {
  return config_error_of([&] { valid(config); });
}

TEST(ConfigSchema, FillsDefaultsOfMissingKeysAndSections) {
  json out = valid({{"name", "run"}});
  EXPECT_EQ(out["device"], "cpu");
  EXPECT_EQ(out["train"]["epochs"], 10);
  EXPECT_EQ(out["train"]["lr"], 0.1);
  EXPECT_EQ(out["model"]["hidden"], json::array({256}));
}

TEST(ConfigSchema, LeavesKeysWithoutDefaultAbsent) {
  json out = valid({{"name", "run"}});
  EXPECT_FALSE(out["model"].contains("dropout"));
  EXPECT_FALSE(out.contains("tags"));
  EXPECT_FALSE(out.contains("betas"));
}

TEST(ConfigSchema, KeepsGivenValues) {
  json out = valid({{"name", "run"}, {"device", "cuda"}, {"train", {{"epochs", 3}}}, {"size", {4, 5}}});
  EXPECT_EQ(out["device"], "cuda");
  EXPECT_EQ(out["train"]["epochs"], 3);
  EXPECT_EQ(out["train"]["lr"], 0.1);
  EXPECT_EQ(out["size"], json::array({4, 5}));
}

TEST(ConfigSchema, UnknownKeySuggestsTheNearestSibling) {
  EXPECT_EQ(error_of({{"name", "run"}, {"train", {{"epoch", 3}}}}),
            "x.json: unknown key 'train.epoch' (did you mean 'train.epochs'?)");
}

TEST(ConfigSchema, UnknownKeyThatLivesInAnotherSectionSuggestsItsPath) {
  EXPECT_EQ(error_of({{"name", "run"}, {"train", {{"hidden", {8}}}}}),
            "x.json: unknown key 'train.hidden' (did you mean 'model.hidden'?)");
}

TEST(ConfigSchema, UnknownKeyFarFromEveryKeyListsTheValidOnes) {
  EXPECT_EQ(error_of({{"name", "run"}, {"train", {{"zzzzzz", 1}}}}),
            "x.json: unknown key 'train.zzzzzz' (valid keys here: epochs, lr)");
}

TEST(ConfigSchema, WrongTypeNamesPathExpectedAndFound) {
  EXPECT_EQ(error_of({{"name", "run"}, {"train", {{"epochs", "ten"}}}}),
            "x.json: wrong type for 'train.epochs': expected an integer >= 1, found string \"ten\"");
}

TEST(ConfigSchema, FractionalNumberIsNotAnInteger) {
  EXPECT_TRUE(has_substr(error_of({{"name", "run"}, {"train", {{"epochs", 2.5}}}}),
                         "wrong type for 'train.epochs': expected an integer >= 1, found number 2.5"));
}

TEST(ConfigSchema, IntegerIsANumber) {
  EXPECT_EQ(valid({{"name", "r"}, {"train", {{"lr", 1}}}})["train"]["lr"], 1);
}

TEST(ConfigSchema, ValueBelowMinimumIsOutOfRange) {
  EXPECT_EQ(error_of({{"name", "run"}, {"train", {{"epochs", 0}}}}),
            "x.json: value out of range for 'train.epochs': expected an integer >= 1, found 0");
}

TEST(ConfigSchema, ExclusiveBoundsRejectTheBoundItself) {
  EXPECT_TRUE(
      has_substr(error_of({{"name", "r"}, {"train", {{"lr", 0}}}}), "expected a number > 0, found 0"));
  EXPECT_TRUE(
      has_substr(error_of({{"name", "r"}, {"model", {{"dropout", 1.0}}}}),
                 "value out of range for 'model.dropout': expected a number >= 0 and < 1, found 1.0"));
  EXPECT_EQ(valid({{"name", "r"}, {"model", {{"dropout", 0}}}})["model"]["dropout"], 0);
}

TEST(ConfigSchema, ArrayElementErrorNamesItsIndex) {
  EXPECT_EQ(error_of({{"name", "run"}, {"model", {{"hidden", {512, 256, 0}}}}}),
            "x.json: value out of range for 'model.hidden[2]': expected an integer >= 1, found 0");
}

TEST(ConfigSchema, ValueOutsideTheAllowedSetListsTheAllowedValues) {
  EXPECT_EQ(error_of({{"name", "run"}, {"device", "gpu"}}),
            "x.json: value not allowed for 'device': expected one of \"cpu\", \"cuda\", found \"gpu\"");
}

TEST(ConfigSchema, MisspeltAllowedValueGetsASuggestion) {
  EXPECT_TRUE(has_substr(error_of({{"name", "run"}, {"device", "cdua"}}), "(did you mean \"cuda\"?)"));
}

TEST(ConfigSchema, MissingRequiredKeyIsNamed) {
  EXPECT_EQ(error_of(json::object()), "x.json: missing required key 'name': expected a string");
}

TEST(ConfigSchema, WrongArrayLengthSaysExpectedAndFoundLength) {
  EXPECT_EQ(
      error_of({{"name", "run"}, {"betas", {0.9}}}),
      "x.json: wrong length for 'betas': expected an array of length 2, each a number, found 1 element");
}

TEST(ConfigSchema, MapTakesAnyKeyButChecksEveryValue) {
  EXPECT_EQ(valid({{"name", "r"}, {"tags", {{"a", "x"}, {"anything", "y"}}}})["tags"]["anything"], "y");
  EXPECT_EQ(error_of({{"name", "r"}, {"tags", {{"a", "x"}, {"b", 3}}}}),
            "x.json: wrong type for 'tags.b': expected a string, found integer 3");
}

TEST(ConfigSchema, AnyOfAcceptsEachAlternative) {
  EXPECT_EQ(valid({{"name", "r"}, {"size", 3}})["size"], 3);
  EXPECT_EQ(valid({{"name", "r"}, {"size", {2, 3}}})["size"], json::array({2, 3}));
}

TEST(ConfigSchema, AnyOfReportsTheErrorOfTheAlternativeOfTheSameType) {
  EXPECT_TRUE(has_substr(error_of({{"name", "r"}, {"size", 0}}), "value out of range for 'size'"));
  EXPECT_EQ(
      error_of({{"name", "r"}, {"size", "big"}}),
      "x.json: wrong type for 'size': expected an integer >= 1 or an array of length 2, each an integer, "
      "found string \"big\"");
}

TEST(ConfigSchema, RootMustBeAnObject) {
  EXPECT_EQ(error_of(json::array()),
            "x.json: wrong type for the config root: expected an object, found array []");
}

TEST(ConfigSchema, PerKeySourceNamesTheFileOfEachValue) {
  auto source_of = [](const std::string& path) {
    return path == "train.epochs" ? "base.json" : "child.json";
  };
  json config = {{"name", "r"}, {"train", {{"epochs", 0}}}};
  std::string message = config_error_of([&] { validate_config(config, test_schema(), source_of); });
  EXPECT_EQ(message.rfind("base.json: value out of range for 'train.epochs'", 0), 0u) << message;
}

TEST(ConfigSchema, ModifierOnTheWrongKindIsASchemaBug) {
  EXPECT_THROW(Schema::string().min(1), InternalError);
  EXPECT_THROW(Schema::integer().length(2), InternalError);
  EXPECT_THROW(Schema::object({{"a", Schema::integer()}, {"a", Schema::string()}}), InternalError);
}

TEST(ConfigSchema, DefaultThatViolatesItsSchemaIsASchemaBug) {
  Schema broken = Schema::object({{"epochs", Schema::integer().min(1).def(0)}});
  EXPECT_THROW(validate_config(json::object(), broken, "x.json"), InternalError);
}

TEST(ConfigSuggest, EditDistanceCountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("epochs", "epochs"), 0u);
  EXPECT_EQ(edit_distance("bacth", "batch"), 1u);  // one adjacent swap
}

TEST(ConfigSuggest, NearestMatchSuggestsPlausibleTypos) {
  EXPECT_EQ(nearest_match("bacth_size", {"test_batch_size", "batch_size"}), "batch_size");
  EXPECT_EQ(nearest_match("Epochs", {"epochs"}), "epochs");  // case is ignored
  EXPECT_EQ(nearest_match("epoch", {"epochs", "eval_every"}), "epochs");
}

TEST(ConfigSuggest, NearestMatchRejectsDistantAndShortWords) {
  EXPECT_EQ(nearest_match("lr", {"momentum", "nesterov"}), std::nullopt);
  EXPECT_EQ(nearest_match("gpu", {"cpu", "cuda"}), std::nullopt);  // 3 letters: one edit is a different word
  EXPECT_EQ(nearest_match("optimiser_name", {"name"}), std::nullopt);
}

}  // namespace
}  // namespace frugal
