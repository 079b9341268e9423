// frugal data bench --config F [--set k=v]... [--split train|test] [--batches N] [--warmup W] [--json OUT]
//                   [--dump FILE]
// Decode + augment throughput of a config's data pipeline alone (no model): the loader fills batches
// with data.workers threads and a prefetch thread while this thread only takes them, as training does.
// --dump writes the first batch (images, labels) as .safetensors, to hold it against another pipeline.
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/io/safetensors.h"
#include "training/experiment.h"

namespace frugal::cli {

CLI::App* add_data_bench_subcommand(CLI::App& data, Action* action) {
  auto* cmd = data.add_subcommand("bench", "images/s of the data pipeline alone (decode, augment, batch)");
  struct Args {
    ConfigArgs config;
    std::string split = "train", json, dump;
    int64_t batches = 0, warmup = 1;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config, true);
  cmd->add_option("--split", args->split, "train (training augmentation) or test (evaluation view)")
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--batches", args->batches, "batches to time (default: the rest of one epoch)");
  cmd->add_option("--warmup", args->warmup, "batches taken before timing starts");
  cmd->add_option("--json", args->json, "also write the numbers as JSON here");
  cmd->add_option("--dump", args->dump, "write the first batch to this .safetensors file");
  *action = [cmd, args]() {
    if (!cmd->parsed()) return -1;
    const nlohmann::json config = load_config_with_overrides(args->config);
    // Where the results go is checked before the batches are timed.
    for (const std::string* file : {&args->json, &args->dump})
      if (!file->empty()) check_output_file(*file);
    apply_thread_setting(config.at("threads").get<int>());
    const Split split = args->split == "train" ? Split::Train : Split::Test;
    auto data = open_dataset(dataset_options(config, split), split);
    LoaderOptions lo = train_loader_options(config);
    if (split == Split::Test) {  // the evaluation loader: no augmentation, no shuffle
      LoaderOptions eval;
      eval.batch_size = config.at("data").at("test_batch_size").get<int64_t>();
      eval.shuffle = false;
      eval.drop_last = false;
      eval.mean = lo.mean;
      eval.std = lo.std;
      eval.workers = lo.workers;
      lo = eval;
    }
    Loader loader(*data, lo);
    loader.start_epoch(0);
    Batch b;
    for (int64_t i = 0; i < args->warmup; ++i) {
      if (!loader.next(b)) throw ConfigError("data bench: the epoch has no batch left after the warm-up");
      if (i == 0 && !args->dump.empty())
        save_safetensors(args->dump, {{"images", b.images.clone()}, {"labels", b.labels.clone()}});
    }
    const auto start = std::chrono::steady_clock::now();
    int64_t images = 0, batches = 0;
    while ((args->batches == 0 || batches < args->batches) && loader.next(b)) {
      images += b.size;
      ++batches;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (batches == 0) throw ConfigError("data bench: no batch was timed (dataset too small for --warmup)");
    const nlohmann::json out = {{"split", args->split},         {"dataset", data->describe()},
                                {"workers", lo.workers},        {"batch_size", lo.batch_size},
                                {"batches", batches},           {"images", images},
                                {"seconds", seconds},           {"images_per_second", images / seconds},
                                {"replaced_samples", data->replaced_samples()}};
    std::cout << out.dump(2) << "\n";
    if (!args->json.empty()) write_file_atomic(args->json, out.dump(2) + "\n");
    return 0;
  };
  return cmd;
}

}  // namespace frugal::cli
