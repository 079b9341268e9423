#include "training/checkpoint.h"

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "core/config/config.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/json_depth.h"
#include "training/distributed/checkpoint_state.h"
#include "training/distributed/data_parallel.h"

namespace frugal {
namespace fs = std::filesystem;

NamedTensors model_state(Graph& graph) {
  NamedTensors out;
  for (Parameter* p : graph.parameters()) out.emplace_back(p->name, p->value);
  return out;
}

namespace {

NamedTensors mode_state(Experiment& e) {
  NamedTensors out;
  for (int i = 0; i < e.graph->size(); ++i)
    for (Parameter* p : e.executor->mode(i).state()) out.emplace_back("mode." + p->name, p->value);
  return out;
}

void copy_named(const std::string& file, const NamedTensors& from, const NamedTensors& into) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : from) by_name[name] = &t;
  for (const auto& [name, t] : into) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw DataError(file + ": tensor '" + name + "' is missing");
    const Tensor& src = *it->second;
    if (src.shape() != t.shape() || src.dtype() != t.dtype())
      throw DataError(file + ": tensor '" + name + "' has shape " + src.shape().str() + " " + dtype_name(src.dtype()) +
                      ", the model expects " + t.shape().str() + " " + dtype_name(t.dtype()));
    Tensor dst = t;
    dst.copy_from(src);
  }
}

}  // namespace

void load_weights(const std::string& file, Graph& graph) {
  SafetensorsFile f = load_safetensors(file);
  copy_named(file, f.tensors, model_state(graph));
}

void save_checkpoint(const std::string& dir, Experiment& e, const TrainingPosition& pos) {
  // Data parallel: every rank takes part in gathering the state; rank 0 alone writes.
  NamedTensors opt;
  if (e.data_parallel) {
    opt = gather_optimizer_entries(e);
    if (!e.data_parallel->writes_files()) return;
  } else {
    if (e.optimizer) opt = e.optimizer->state();
    for (auto& m : mode_state(e)) opt.push_back(m);
  }
  fs::create_directories(dir);
  std::map<std::string, std::string> meta{{"step", std::to_string(pos.step)}, {"format", "frugal"}};
  save_safetensors(dir + "/model.safetensors", model_state(*e.graph), meta);
  save_safetensors(dir + "/optimizer.safetensors", opt, meta);
  nlohmann::json state = {{"epoch", pos.epoch},
                          {"batch_in_epoch", pos.batch_in_epoch},
                          {"step", pos.step},
                          {"optimizer_steps", e.optimizer ? e.optimizer->steps_taken() : 0},
                          {"best_test_accuracy", pos.best_test_accuracy},
                          {"wall_seconds", pos.wall_seconds},
                          {"seed", e.config.at("seed").get<uint64_t>()},
                          {"config_hash", config_hash(e.config)},
                          {"world_size", e.data_parallel ? e.data_parallel->size() : 1},
                          {"rng", {{"kind", "philox4x32-10"}, {"keyed_by", "seed, stream, step/epoch"}}}};
  write_file_atomic(dir + "/state.json", state.dump(2) + "\n");
}

TrainingPosition read_checkpoint_position(const std::string& dir) {
  const std::string state_file = dir + "/state.json";
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(
        read_file(state_file), json_depth_limit<nlohmann::json>([&] {
          return DataError(state_file + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }));
  } catch (const nlohmann::json::exception& ex) {
    throw DataError(state_file + ": not valid JSON (" + ex.what() + ")");
  }
  if (!state.is_object()) throw DataError(state_file + ": expected a JSON object, found " + std::string(state.type_name()));
  auto count = [&](const char* key) {
    if (!state.contains(key)) throw DataError(state_file + ": key '" + key + "' is missing");
    const auto& v = state.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      throw DataError(state_file + ": key '" + key + "' must be an integer >= 0, found " + v.dump());
    return v.get<int64_t>();
  };
  auto number = [&](const char* key) {  // written since the first version; 0 when absent
    if (!state.contains(key)) return 0.0;
    const auto& v = state.at(key);
    if (!v.is_number()) throw DataError(state_file + ": key '" + key + "' must be a number, found " + v.dump());
    return v.get<double>();
  };
  TrainingPosition pos;
  pos.epoch = count("epoch");
  pos.batch_in_epoch = count("batch_in_epoch");
  pos.step = count("step");
  pos.best_test_accuracy = number("best_test_accuracy");
  pos.wall_seconds = number("wall_seconds");
  pos.world_size = state.contains("world_size") ? count("world_size") : 1;  // absent before data parallelism
  return pos;
}

TrainingPosition load_checkpoint(const std::string& dir, Experiment& e) {
  const std::string state_file = dir + "/state.json";
  const TrainingPosition pos = read_checkpoint_position(dir);
  // A step's samples, the shards of each epoch and per-rank mode state depend on the rank count.
  const int64_t saved_ranks = pos.world_size, ranks = e.data_parallel ? e.data_parallel->size() : 1;
  if (saved_ranks != ranks)
    throw ConfigError(state_file + ": the run was trained on " + std::to_string(saved_ranks) + " rank(s); resume it with " +
                      (saved_ranks == 1 ? std::string("a single process") : "mpirun -np " + std::to_string(saved_ranks)) +
                      ", not " + std::to_string(ranks));
  for (const char* name : {"model.safetensors", "optimizer.safetensors"}) {
    const std::string file = dir + "/" + name;
    SafetensorsFile f = load_safetensors(file);
    auto it = f.metadata.find("step");
    if (it == f.metadata.end() || it->second != std::to_string(pos.step))
      throw DataError(file + ": written at step " + (it == f.metadata.end() ? "?" : it->second) + " but " +
                      state_file + " says step " + std::to_string(pos.step) + " (an interrupted checkpoint)");
    if (std::string(name) == "model.safetensors") {
      copy_named(file, f.tensors, model_state(*e.graph));
    } else {
      if (e.data_parallel) {
        load_optimizer_entries(e, f.tensors, file);
        continue;
      }
      NamedTensors opt, modes;
      for (auto& [n, t] : f.tensors) (n.rfind("mode.", 0) == 0 ? modes : opt).emplace_back(n, t);
      if (e.optimizer) e.optimizer->load_state(opt);
      copy_named(file, modes, mode_state(e));
    }
  }
  return pos;
}

}  // namespace frugal
