#include "training/distributed/data_parallel.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/config/config_hash.h"
#include "core/error.h"

namespace frugal {
namespace {

// FNV-1a 64 over a tensor's bytes (copied to the host first when it lives on a device).
uint64_t fingerprint(const Tensor& t) {
  Tensor host = t.to(Device::CPU);
  const auto* bytes = static_cast<const unsigned char*>(host.raw());
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < host.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return h;
}

}  // namespace

DistributedOptions distributed_options(const nlohmann::json& config) {
  DistributedOptions o;  // from the validated config: the schema holds the defaults
  const auto& d = config.at("distributed");
  o.sync_batchnorm = d.at("sync_batchnorm").get<bool>();
  o.shard_optimizer_state = d.at("shard_optimizer_state").get<bool>();
  o.shard_gradients = d.at("shard_gradients").get<bool>();
  o.bucket_mb = d.at("bucket_mb").get<double>();
  o.timeout_s = d.at("timeout_s").get<double>();
  if (o.shard_gradients && !o.shard_optimizer_state)
    throw ConfigError("distributed.shard_gradients: sharded gradients (ZeRO stage 2) need "
                      "distributed.shard_optimizer_state = true (stage 1) as well");
  return o;
}

std::string communication_summary(const CommunicationStats& s) {
  if (s.steps == 0) return "";
  char text[128];
  const double per_step = s.busy_seconds / static_cast<double>(s.steps);
  std::snprintf(text, sizeof text, " | comm %.1f ms/step, %.0f%% during the backward, %.1f ms waited", 1e3 * per_step,
                s.busy_seconds > 0 ? 100.0 * s.overlapped_seconds / s.busy_seconds : 0.0,
                1e3 * s.waited_seconds / static_cast<double>(s.steps));
  return text;
}

nlohmann::json communication_json(const CommunicationStats& s) {
  const double steps = static_cast<double>(std::max<int64_t>(s.steps, 1));
  return {{"steps", s.steps},
          {"busy_seconds_per_step", s.busy_seconds / steps},
          {"overlapped_seconds_per_step", s.overlapped_seconds / steps},
          {"overlapped_fraction", s.busy_seconds > 0 ? s.overlapped_seconds / s.busy_seconds : 0.0},
          {"waited_seconds_per_step", s.waited_seconds / steps}};
}

void check_same_config(Communicator& comm, const nlohmann::json& config) {
  if (comm.size() == 1) return;
  char mine[32] = {};
  std::snprintf(mine, sizeof mine, "%s", config_hash(config).c_str());
  std::vector<char> all(sizeof mine * static_cast<size_t>(comm.size()));
  comm.all_gather(mine, all.data(), sizeof mine, "start-up (config check)");
  std::string differ;
  for (int r = 1; r < comm.size(); ++r)
    if (std::strncmp(&all[sizeof mine * static_cast<size_t>(r)], all.data(), sizeof mine) != 0)
      differ += " " + std::to_string(r);
  if (!differ.empty())
    throw ConfigError("the resolved config of rank(s)" + differ +
                      " differs from rank 0's: every rank must train the same config (same file, same --set)");
}

uint64_t DataParallel::step_seed(uint64_t seed) const {
  if (rank() == 0) return seed;
  // splitmix64 of (seed, rank): well apart from any seed a user would pick next to this one.
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(rank() + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void DataParallel::share_buffers_from_rank0(Graph& graph) {
  if (size() == 1) return;
  for (Parameter* p : graph.parameters()) {
    if (p->trainable) continue;
    Tensor host = p->value.device() == Device::CPU ? p->value : p->value.to(Device::CPU);
    comm_.broadcast(host.raw(), host.nbytes(), 0, "broadcast of " + p->name + " from rank 0");
    if (host.raw() != p->value.raw()) p->value.copy_from(host);
  }
}

void DataParallel::check_identical(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                   const std::string& what) {
  if (size() == 1) return;
  std::vector<uint64_t> mine;
  for (const auto& [name, t] : tensors) mine.push_back(fingerprint(t));
  std::vector<uint64_t> all(mine.size() * static_cast<size_t>(size()));
  comm_.all_gather(mine.data(), all.data(), mine.size() * sizeof(uint64_t), "check of " + what);
  for (size_t i = 0; i < mine.size(); ++i) {
    std::string differ;
    for (int r = 1; r < size(); ++r)
      if (all[static_cast<size_t>(r) * mine.size() + i] != all[i]) differ += " " + std::to_string(r);
    if (!differ.empty())
      throw InternalError(what + ": '" + tensors[i].first + "' differs between rank 0 and rank(s)" + differ +
                          " (every rank must start from the same values)");
  }
}

std::vector<double> DataParallel::gather_per_rank(double value, const std::string& what) {
  std::vector<double> all(static_cast<size_t>(size()));
  comm_.all_gather(&value, all.data(), sizeof value, what);
  return all;
}

}  // namespace frugal
