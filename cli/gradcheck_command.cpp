// frugal gradcheck --config F [--modes M,...] [--batches N] [--draws D] [--weights W] [--output DIR]
// For a few training batches and the model's current weights, compares each parameter's gradient under
// the chosen backward modes with the exact gradient (training/gradcheck.h): cosine, relative L2 error,
// and for stochastic modes the bias and spread over repeated draws. Prints a table per mode and writes
// gradcheck.json into the run directory (or --output).
//
// A mode is `config` (the config's own backward section, the default) or a mode name with optional
// knobs, `randomized_trace:probes=32:probe_mode=gaussian`, which becomes the backward default for every
// layer it supports (the rest stay exact).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/output_paths.h"
#include "core/log.h"
#include "training/checkpoint.h"
#include "training/config/frugal_schema.h"
#include "training/experiment.h"
#include "training/gradcheck.h"
#include "training/trainer.h"

namespace frugal::cli {
namespace {

namespace fs = std::filesystem;

// The config with its backward section replaced according to `spec`.
nlohmann::json config_for_mode(const nlohmann::json& config, const std::string& spec) {
  if (spec == "config") return config;
  nlohmann::json entry;
  size_t start = 0, colon = spec.find(':');
  entry["mode"] = spec.substr(0, colon);
  while (colon != std::string::npos) {
    start = colon + 1;
    colon = spec.find(':', start);
    const std::string knob = spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const size_t eq = knob.find('=');
    FRUGAL_CHECK(eq != std::string::npos && eq > 0, ConfigError,
                 "gradcheck --modes '" + spec + "': knob '" + knob + "' is not of the form name=value");
    const std::string value = knob.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    entry[knob.substr(0, eq)] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  nlohmann::json out = config;
  out["backward"] = {{"default", entry}, {"layers", nlohmann::json::array()}};
  return validate_config(out, frugal_config_schema(), "gradcheck --modes '" + spec + "'");
}

LoaderOptions loader_options(const nlohmann::json& config) {
  const auto& d = config.at("data");
  LoaderOptions lo;
  lo.batch_size = d.at("batch_size").get<int64_t>();
  lo.seed = config.at("seed").get<uint64_t>();
  lo.mean = d.at("normalize").at("mean").get<std::vector<float>>();
  lo.std = d.at("normalize").at("std").get<std::vector<float>>();
  lo.prefetch = 0;
  return lo;
}

// Weights to check: --weights (a .safetensors file or a checkpoint folder), else the run's checkpoint
// when there is one, else the initial weights from the seed. Returns where they came from.
std::string load_current_weights(const std::string& weights, const std::string& run_dir, Graph& graph) {
  std::string file = weights;
  if (!file.empty() && fs::is_directory(file)) file += "/model.safetensors";
  if (file.empty() && fs::exists(run_dir + "/checkpoint/model.safetensors")) file = run_dir + "/checkpoint/model.safetensors";
  if (file.empty()) return "initial weights (seed)";
  load_weights(file, graph);
  return file;
}

void copy_weights(Graph& from, Graph& into) {
  NamedTensors source = model_state(from);
  for (Parameter* p : into.parameters())
    for (auto& [name, t] : source)
      if (name == p->name) p->value.copy_from(t);
}

}  // namespace

Action add_gradcheck_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gradcheck", "compare each layer's gradients under approximate modes with exact ones");
  struct Args {
    ConfigArgs config;
    std::vector<std::string> modes{"config"};
    int batches = 2;
    int draws = 8;
    std::string weights, output;
  };
  auto args = std::make_shared<Args>();
  add_config_options(*cmd, args->config);
  cmd->add_option("--modes", args->modes,
                  "modes to check, comma-separated: 'config' (the config's backward section) or "
                  "name[:knob=value...], e.g. randomized_trace:probes=32 (default: config)")
      ->delimiter(',');
  cmd->add_option("--batches", args->batches, "training batches to compare on (default 2)")->check(CLI::Range(1, 10000));
  cmd->add_option("--draws", args->draws, "runs per batch with new random draws (default 8)")->check(CLI::Range(1, 10000));
  cmd->add_option("--weights", args->weights, "weights to check (.safetensors or checkpoint folder; default: the "
                                              "run's checkpoint if any, else the initial weights)");
  cmd->add_option("--output,-o", args->output, "directory for gradcheck.json (default: the run directory)");
  return [cmd, args]() {
    if (!cmd->parsed()) return -1;
    const nlohmann::json config = load_config_with_overrides(args->config);
    const std::string run_dir = run_dir_for(config);
    const std::string dir = args->output.empty() ? run_dir : args->output;
    require_device(config);
    check_output_file(dir + "/gradcheck.json");
    std::vector<nlohmann::json> candidates;  // validated before anything heavy runs
    for (const std::string& spec : args->modes) candidates.push_back(config_for_mode(config, spec));

    nlohmann::json exact_config = config;
    exact_config["backward"] = {{"default", {{"mode", "exact"}}}, {"layers", nlohmann::json::array()}};
    Experiment reference = build_experiment(exact_config, ExperimentUse::Train);
    const std::string source = load_current_weights(args->weights, run_dir, *reference.graph);
    Loader loader(*reference.train_data, loader_options(config));
    loader.start_epoch(0);
    std::vector<Batch> batches;
    for (Batch b; static_cast<int>(batches.size()) < args->batches && loader.next(b);)
      batches.push_back({b.images.clone(), b.labels.clone(), b.size});
    const uint64_t seed = config.at("seed").get<uint64_t>();

    nlohmann::json report = {{"config", config.at("name")},
                             {"weights", source},
                             {"batch_size", batches.at(0).images.dim(0)},
                             {"results", nlohmann::json::array()}};
    std::cout << "gradcheck of '" << config.at("name").get<std::string>() << "' (" << source << "), "
              << batches.size() << " batches x " << args->draws << " draws, against exact backprop\n";
    for (size_t m = 0; m < candidates.size(); ++m) {
      Experiment candidate = build_experiment(candidates[m], ExperimentUse::Evaluate);
      copy_weights(*reference.graph, *candidate.graph);
      GradcheckResult r = compare_gradients(*reference.executor, *candidate.executor, batches, args->draws, seed);
      std::cout << "\nmodes: " << args->modes[m] << "\n" << gradcheck_table(r);
      nlohmann::json j = gradcheck_json(r);
      j["modes"] = args->modes[m];
      report["results"].push_back(j);
    }
    write_file_atomic(dir + "/gradcheck.json", report.dump(2) + "\n");
    std::cout << "\nbias: |mean over draws of (mode - exact)| / |exact|, +-noise = spread / sqrt(draws): a bias "
                 "within a few noise units is consistent with an unbiased mode\n"
              << "gradcheck report: " << dir << "/gradcheck.json\n";
    return 0;
  };
}

}  // namespace frugal::cli
