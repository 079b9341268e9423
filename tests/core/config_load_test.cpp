// load_config: strict JSON files, "extends" chains, errors naming the file at fault, data paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/config/config.h"
#include "core/config/json_file.h"
#include "core/error.h"
#include "tests/core/config_test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;
using testing_support::config_error_of;
using testing_support::has_substr;
using testing_support::ScopedEnv;
using testing_support::ScratchDir;

Schema test_schema() {
  return Schema::object({
      {"name", Schema::string().required()},
      {"train", Schema::object({
                    {"epochs", Schema::integer().min(1).def(10)},
                    {"lr", Schema::number().def(0.1)},
                })},
      {"model", Schema::object({{"hidden", Schema::array(Schema::integer()).def({256})}})},
      {"data", Schema::object({
                   {"path", Schema::path().def("")},
                   {"extra_paths", Schema::array(Schema::path())},
                   {"label", Schema::string()},
               })},
  });
}

json load(const std::string& file) { return load_config(file, test_schema(), {}); }

TEST(ConfigLoad, ReadsAFileAndFillsDefaults) {
  ScratchDir dir;
  json out = load(dir.write("run.json", R"({"name": "run", "train": {"epochs": 3}})"));
  EXPECT_EQ(out["name"], "run");
  EXPECT_EQ(out["train"]["epochs"], 3);
  EXPECT_EQ(out["train"]["lr"], 0.1);
  EXPECT_EQ(out["model"]["hidden"], json::array({256}));
}

TEST(ConfigLoad, SyntaxErrorGivesFileLineAndColumn) {
  ScratchDir dir;
  // Trailing comma: the parser fails at the '}' on line 3, column 25.
  std::string file = dir.write("bad.json", "{\n  \"name\": \"run\",\n  \"train\": {\"epochs\": 3,}\n}\n");
  std::string message = config_error_of([&] { load(file); });
  EXPECT_TRUE(has_substr(message, file + ":3:25: invalid JSON: syntax error")) << message;
}

TEST(ConfigLoad, ANumberBeyondDoubleIsAConfigErrorNamingTheFile) {
  ScratchDir dir;
  std::string file = dir.write("huge.json", R"({"optimizer": {"lr": 1e999}})");
  std::string message = config_error_of([&] { load(file); });
  EXPECT_TRUE(has_substr(message, file + ": invalid JSON: ")) << message;
  EXPECT_TRUE(has_substr(message, "1e999")) << message;
}

TEST(ConfigLoad, CommentsAreNotJson) {
  ScratchDir dir;
  std::string file = dir.write("bad.json", "{\n  // a comment\n  \"name\": \"run\"\n}\n");
  EXPECT_TRUE(has_substr(config_error_of([&] { load(file); }), file + ":2:"));
}

TEST(ConfigLoad, DuplicateKeyIsAnErrorNamingItsPath) {
  EXPECT_EQ(config_error_of([] { parse_strict_json(R"({"train": {"epochs": 1, "epochs": 2}})", "x.json"); }),
            "x.json: duplicate key 'train.epochs'");
  EXPECT_EQ(
      config_error_of([] { parse_strict_json(R"({"l": [{"a": 1}, [2], {"a": 1, "a": 2}]})", "x.json"); }),
      "x.json: duplicate key 'l[2].a'");
}

TEST(ConfigLoad, NestingDeeperThanTheLimitIsAnErrorNamingWhere) {
  // 100000 levels once took minutes (key paths rebuilt at every level) and later overflowed the stack.
  const std::string deep = R"({"name": "run", "model": {"hidden": )" + std::string(100000, '[') +
                           std::string(100000, ']') + "}}";
  EXPECT_TRUE(has_substr(config_error_of([&] { parse_strict_json(deep, "x.json"); }),
                         "x.json: nested deeper than 64 levels at 'model.hidden"));
}

TEST(ConfigLoad, SameKeyInDifferentObjectsIsFine) {
  json parsed = parse_strict_json(R"({"a": {"k": 1}, "b": {"k": 2}, "l": [{"k": 3}, {"k": 4}]})", "x.json");
  EXPECT_EQ(parsed["l"][1]["k"], 4);
}

TEST(ConfigLoad, MissingFileIsAConfigErrorNamingIt) {
  EXPECT_TRUE(has_substr(config_error_of([] { load("/nonexistent/run.json"); }),
                         "/nonexistent/run.json: cannot open"));
}

TEST(ConfigLoad, ConfigMustBeAnObject) {
  ScratchDir dir;
  std::string file = dir.write("list.json", "[1, 2]");
  EXPECT_EQ(config_error_of([&] { load(file); }),
            file + ": a config must be a JSON object, found array [1,2]");
}

TEST(ConfigLoad, UnknownKeyNamesTheFileAndSuggestsTheNearestKey) {
  ScratchDir dir;
  std::string file = dir.write("x.json", R"({"name": "run", "train": {"epoch": 1}})");
  EXPECT_EQ(config_error_of([&] { load(file); }),
            file + ": unknown key 'train.epoch' (did you mean 'train.epochs'?)");
}

// base.json <- sub/mid.json <- sub/deeper/child.json, each extends relative to its own folder.
TEST(ConfigLoad, ExtendsThreeLevelsDeepMergingObjectsAndReplacingArrays) {
  ScratchDir dir;
  dir.write("base.json",
            R"({"name": "base", "train": {"epochs": 5, "lr": 0.5}, "model": {"hidden": [1, 2, 3]}})");
  dir.write("sub/mid.json",
            R"({"extends": "../base.json", "train": {"lr": 0.25}, "model": {"hidden": [7]}})");
  std::string child = dir.write("sub/deeper/child.json", R"({"extends": "../mid.json", "name": "child"})");
  json out = load(child);
  EXPECT_EQ(out["name"], "child");                      // scalar replaced by the child
  EXPECT_EQ(out["train"]["epochs"], 5);                 // kept from base: objects merge key by key
  EXPECT_EQ(out["train"]["lr"], 0.25);                  // replaced by mid
  EXPECT_EQ(out["model"]["hidden"], json::array({7}));  // arrays replace, never merge
  EXPECT_FALSE(out.contains("extends"));
}

TEST(ConfigLoad, ExtendsCycleIsAnErrorNamingTheFiles) {
  ScratchDir dir;
  std::string a = dir.write("a.json", R"({"extends": "b.json", "name": "a"})");
  std::string b = dir.write("b.json", R"({"extends": "a.json", "name": "b"})");
  EXPECT_EQ(config_error_of([&] { load(a); }), b + ": \"extends\" cycle: " + a + " -> " + b + " -> " + a);
}

TEST(ConfigLoad, ExtendingItselfIsACycle) {
  ScratchDir dir;
  std::string a = dir.write("a.json", R"({"extends": "./a.json", "name": "a"})");
  EXPECT_TRUE(has_substr(config_error_of([&] { load(a); }), "\"extends\" cycle"));
}

TEST(ConfigLoad, ExtendsOfAMissingFileNamesBothFiles) {
  ScratchDir dir;
  std::string child = dir.write("sub/child.json", R"({"extends": "../nope.json", "name": "c"})");
  EXPECT_EQ(config_error_of([&] { load(child); }), child + ": \"extends\": \"../nope.json\" names " +
                                                       dir.path("nope.json") + ", which does not exist");
}

// Found by the config fuzz target: a name the system cannot look up (over 255 bytes) threw the
// filesystem library's exception instead of a config error.
TEST(ConfigLoad, ExtendsOfANameTooLongToLookUpIsAConfigError) {
  ScratchDir dir;
  const std::string name(300, 'x');
  std::string child = dir.write("child.json", R"({"extends": ")" + name + R"(", "name": "c"})");
  const std::string message = config_error_of([&] { load(child); });
  EXPECT_TRUE(has_substr(message, "cannot be looked up")) << message;
  EXPECT_TRUE(has_substr(message, child)) << message;
}

TEST(ConfigLoad, ExtendsMustBeAPathString) {
  ScratchDir dir;
  std::string file = dir.write("x.json", R"({"extends": 3, "name": "c"})");
  EXPECT_TRUE(has_substr(config_error_of([&] { load(file); }), "wrong type for 'extends'"));
}

TEST(ConfigLoad, ErrorInAParentNamesTheParentFile) {
  ScratchDir dir;
  std::string base = dir.write("base.json", R"({"name": "base", "train": {"epochs": 0}})");
  std::string child = dir.write("child.json", R"({"extends": "base.json", "model": {"hidden": [4]}})");
  EXPECT_EQ(config_error_of([&] { load(child); }),
            base + ": value out of range for 'train.epochs': expected an integer >= 1, found 0");
}

TEST(ConfigLoad, ValueReplacedByTheChildIsBlamedOnTheChild) {
  ScratchDir dir;
  dir.write("base.json", R"({"name": "base", "model": {"hidden": [4]}})");
  std::string child = dir.write("child.json", R"({"extends": "base.json", "model": {"hidden": [4, "x"]}})");
  EXPECT_EQ(config_error_of([&] { load(child); }),
            child + ": wrong type for 'model.hidden[1]': expected an integer, found string \"x\"");
}

TEST(ConfigLoad, RelativeDataPathResolvesAgainstTheFileThatSetIt) {
  ScopedEnv no_data_root("FRUGAL_DATA", std::nullopt);
  ScratchDir dir;
  dir.write("base.json", R"({"name": "base", "data": {"path": "data/mnist", "extra_paths": ["x", "../y"]}})");
  std::string child = dir.write("sub/child.json", R"({"extends": "../base.json"})");
  json out = load(child);
  EXPECT_EQ(out["data"]["path"], dir.path("data/mnist"));
  EXPECT_EQ(out["data"]["extra_paths"], json::array({dir.path("x"), dir.path("../y")}));
}

TEST(ConfigLoad, AbsoluteDataPathStaysAndEmptyPathStaysEmpty) {
  ScratchDir dir;
  std::string a = dir.write("a.json", R"({"name": "a", "data": {"path": "/srv/data/./cifar10"}})");
  EXPECT_EQ(load(a)["data"]["path"], "/srv/data/cifar10");
  std::string b = dir.write("b.json", R"({"name": "b"})");
  EXPECT_EQ(load(b)["data"]["path"], "");
}

TEST(ConfigLoad, PlainStringsAreNotTreatedAsPaths) {
  ScratchDir dir;
  std::string file = dir.write("a.json", R"({"name": "a", "data": {"label": "fine/coarse"}})");
  EXPECT_EQ(load(file)["data"]["label"], "fine/coarse");
}

TEST(ConfigLoad, FrugalDataWinsWhenThePathExistsThere) {
  ScratchDir dir;
  std::string data_root = dir.mkdir("datasets");
  dir.mkdir("datasets/mnist");
  ScopedEnv env("FRUGAL_DATA", data_root);
  std::string file = dir.write("configs/run.json", R"({"name": "a", "data": {"path": "mnist"}})");
  EXPECT_EQ(load(file)["data"]["path"], dir.path("datasets/mnist"));
}

TEST(ConfigLoad, FrugalDataIsIgnoredWhenThePathIsNotThere) {
  ScratchDir dir;
  ScopedEnv env("FRUGAL_DATA", dir.mkdir("datasets"));
  std::string file = dir.write("configs/run.json", R"({"name": "a", "data": {"path": "cifar10"}})");
  EXPECT_EQ(load(file)["data"]["path"], dir.path("configs/cifar10"));
}

TEST(ConfigHash, IsTheFnv1a64OfTheCanonicalDump) {
  EXPECT_EQ(config_hash(json::object()), "08f44b07b5901a25");  // FNV-1a 64 of "{}"
  EXPECT_EQ(config_hash(json::parse(R"({"b": [2, 3], "a": 1})")),
            "55bed68470220de4");  // of {"a":1,"b":[2,3]}
}

TEST(ConfigHash, IgnoresKeyOrderAndWhitespace) {
  json one = json::parse(R"({"train": {"epochs": 3, "lr": 0.1}, "name": "x"})");
  json two = json::parse("{ \"name\" : \"x\",\n \"train\" : { \"lr\" : 0.1, \"epochs\" : 3 } }");
  EXPECT_EQ(config_hash(one), config_hash(two));
}

TEST(ConfigHash, ChangesWhenAnyValueChanges) {
  json base = json::parse(R"({"train": {"epochs": 3, "lr": 0.1}, "name": "x"})");
  json epochs = base, lr = base, name = base;
  epochs["train"]["epochs"] = 4;
  lr["train"]["lr"] = 0.1000001;
  name["name"] = "y";
  for (const json& changed : {epochs, lr, name}) EXPECT_NE(config_hash(changed), config_hash(base));
}

TEST(ConfigHash, EqualForTwoLoadsOfTheSameConfig) {
  ScratchDir dir;
  std::string file = dir.write("a.json", R"({"name": "a", "train": {"epochs": 2}})");
  EXPECT_EQ(config_hash(load(file)), config_hash(load(file)));
}

}  // namespace
}  // namespace frugal
