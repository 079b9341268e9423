// End-to-end: the shipped ImageNet recipe (configs/imagenet_resnet18.json: RandomResizedCrop + flip, 8
// decode workers, corrupt files skipped) trains on a small generated image folder, with a JPEG that is
// cut short among the training images: skipped, named in the log and counted for the epoch; with
// data.corrupt_images=error the run stops with a data error naming it.
#include <gtest/gtest.h>

#include "tests/datasets/test_files.h"
#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

using Bytes = frugal::testing::Bytes;

Bytes pattern(int width, int height, int seed) {
  Bytes px;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      px.insert(px.end(), {uint8_t(x * 5 + seed * 40), uint8_t(y * 7 + seed * 13), uint8_t((x + y) * 3)});
  return px;
}

// train/{a,b}/ with 4 photos each (landscape and portrait) and a truncated JPEG in a/; val/{a,b}/ 2 each.
void write_folder(const TempDir& dir) {
  int seed = 0;
  for (const char* split : {"train", "val"})
    for (const char* cls : {"a", "b"})
      for (int i = 0; i < (std::string(split) == "train" ? 4 : 2); ++i, ++seed) {
        const int w = i % 2 ? 40 : 56, h = i % 2 ? 56 : 40;
        const std::string file = dir.str(std::string(split) + "/" + cls + "/" + std::to_string(i) + ".jpg");
        std::filesystem::create_directories(std::filesystem::path(file).parent_path());
        frugal::testing::write_jpeg(file, w, h, pattern(w, h, seed));
      }
  std::string whole = read_text(dir.path() / "train/b/0.jpg");
  write_text(dir.path() / "train/a/9_cut_short.jpg", whole.substr(0, whole.size() / 2));
}

TEST(ImageFolderCli, TheImagenetRecipeSkipsAndCountsACorruptFileOrStopsNamingIt) {
  TempDir dir("imagenet_recipe");
  write_folder(dir);
  const nlohmann::json cfg = {
      {"extends", std::string(FRUGAL_SOURCE_PATH) + "/configs/imagenet_resnet18.json"},
      {"threads", 1},
      {"data", {{"path", dir.str("")}, {"image_size", 32}, {"batch_size", 3}, {"test_batch_size", 4}, {"workers", 2}}},
      {"train", {{"epochs", 1}, {"log_every", 1}}}};
  write_text(dir.path() / "run.json", cfg.dump(2));
  const CliResult r = run_frugal("train --config " + dir.str("run.json") + " --output " + dir.str("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("skipping corrupt image"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("9_cut_short.jpg"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 samples of "), std::string::npos) << r.output;  // counted for the epoch
  EXPECT_NE(r.output.find("were replaced by the next decodable image"), std::string::npos) << r.output;
  const auto summary = nlohmann::json::parse(read_text(dir.path() / "run/summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  const auto resolved = nlohmann::json::parse(read_text(dir.path() / "run/config.json"));
  EXPECT_EQ(resolved["data"]["augment"]["random_resized_crop"], true);
  EXPECT_EQ(resolved["optimizer"]["weight_decay"], 1e-4);

  const CliResult strict = run_frugal("train --config " + dir.str("run.json") + " --set data.corrupt_images=error --output " +
                                      dir.str("strict"));
  EXPECT_EQ(strict.exit_code, 2) << strict.output;
  EXPECT_NE(strict.output.find("9_cut_short.jpg"), std::string::npos) << strict.output;
}

}  // namespace
}  // namespace frugal::e2e
