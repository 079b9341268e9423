// End-to-end: what the CLI says about GPUs. `frugal devices` and `frugal --version` name the visible
// GPUs or say why there are none (exit 0); every subcommand that builds a model refuses device "cuda"
// on a machine without a GPU with exit 2 and the cause, before it writes anything.
#include <gtest/gtest.h>

#include "ops/gpu_info.h"
#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {
namespace {

namespace fs = std::filesystem;

bool gpu_visible() { return !visible_gpus().gpus.empty(); }

TEST(DevicesCli, ListsTheGpusOrSaysWhyThereAreNone) {
  const CliResult r = run_frugal("devices");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cpu: available"), std::string::npos) << r.output;
  if (gpu_visible()) {
    EXPECT_NE(r.output.find("gpu 0: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("compute capability"), std::string::npos) << r.output;
  } else {
    EXPECT_NE(r.output.find("no GPU visible ("), std::string::npos) << r.output;
  }
}

TEST(DevicesCli, VersionHasAGpuLine) {
  const CliResult r = run_frugal("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("frugal "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(gpu_visible() ? "\ngpu: " : "\ngpu: none visible ("), std::string::npos) << r.output;
}

class CudaWithoutGpu : public ::testing::TestWithParam<const char*> {};

TEST_P(CudaWithoutGpu, ExitsTwoNamingTheCause) {
  if (gpu_visible()) GTEST_SKIP() << "a GPU is visible: device cuda is usable here";
  TempDir dir(std::string("nogpu_") + GetParam());
  auto config = tiny_config("nogpu");
  config["device"] = "cuda";
  config["output"] = {{"dir", dir.str("run")}};
  write_text(dir.path() / "config.json", config.dump(2));
  write_text(dir.path() / "placeholder.safetensors", "not read: the device is refused first");
  const std::string cfg = " --config " + dir.str("config.json");
  const std::string file = dir.str("placeholder.safetensors");
  const std::string command = GetParam();
  std::string args = command + cfg;
  if (command == "eval") args += " --checkpoint " + file;
  if (command == "step") args += " --init " + file + " --batch " + file + " --output " + dir.str("out.safetensors");
  if (command == "bench") args += " --steps 1 --warmup 0";
  if (command == "sweep") args += " --grid seed=1,2 -o " + dir.str("run");
  const CliResult r = run_frugal(args);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find("device 'cuda'"), std::string::npos) << r.output;
  EXPECT_TRUE(r.output.find("GPU") != std::string::npos || r.output.find("no CUDA backend") != std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "run")) << command << " wrote its run directory before refusing the device";
}

INSTANTIATE_TEST_SUITE_P(EverySubcommand, CudaWithoutGpu,
                         ::testing::Values("train", "eval", "profile", "step", "bench", "gradcheck", "sweep"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace frugal::e2e
