#include "training/distributed/checkpoint_state.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"
#include "training/distributed/data_parallel.h"

namespace frugal {
namespace {

constexpr const char* kStepEntry = "step";

// A shard entry's parameter and buffer suffix: entry "<param>.<suffix>" for a parameter of `slices`.
struct SliceEntry {
  const ParameterSlice* slice;
  std::string suffix;
};

// This rank's slices by parameter name, ascending (several for a parameter split over buckets: its
// optimizer entries hold their elements end to end).
using SlicesByName = std::map<std::string, std::vector<ParameterSlice>>;
SlicesByName slices_by_name(DataParallel& dp) {
  SlicesByName out;
  for (const auto& node : dp.flat().shard_slices(dp.rank()))
    for (const ParameterSlice& s : node) out[s.param->name].push_back(s);
  return out;
}

// The flat layout's place of parameter `p`.
const FlatPlace& place_of(const FlatParameters& flat, const Parameter* p) {
  for (const FlatPlace& place : flat.places())
    if (place.param == p) return place;
  throw InternalError("sharded optimizer state: '" + p->name + "' is not in the data-parallel layout");
}

// The buffer suffixes ("momentum_buffer"; "exp_avg", "exp_avg_sq") of the local shard entries.
std::vector<std::string> buffer_suffixes(const NamedTensors& state, const SlicesByName& slices) {
  std::vector<std::string> suffixes;
  for (const auto& [name, t] : state) {
    if (name == kStepEntry) continue;
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos || !slices.count(name.substr(0, dot)))
      throw InternalError("sharded optimizer state: unexpected entry '" + name + "'");
    const std::string suffix = name.substr(dot + 1);
    if (std::find(suffixes.begin(), suffixes.end(), suffix) == suffixes.end()) suffixes.push_back(suffix);
  }
  return suffixes;
}

// Full-size optimizer state from every rank's shard, on rank 0 (empty entries elsewhere).
NamedTensors gather_sharded_state(DataParallel& dp, const NamedTensors& state) {
  FlatParameters& flat = dp.flat();
  const int n = dp.size();
  const auto slices = slices_by_name(dp);
  const std::vector<std::string> suffixes = buffer_suffixes(state, slices);
  std::string joined;
  for (const auto& s : suffixes) joined += s + ";";
  dp.check_identical({{"optimizer buffers " + joined, Tensor::wrap(joined.data(), {static_cast<int64_t>(joined.size())},
                                                                   DType::U8)}},
                     "checkpoint of the sharded optimizer state");
  std::map<std::string, const Tensor*> local;
  for (const auto& [name, t] : state) local[name] = &t;

  const int64_t per_rank = flat.total() / n;  // this rank's chunks, bucket after bucket
  std::vector<std::vector<float>> gathered;     // per suffix, on rank 0: every rank's chunks, rank after rank
  for (const std::string& suffix : suffixes) {
    std::vector<float> mine(static_cast<size_t>(per_rank), 0.0f);
    for (const auto& [param_name, param_slices] : slices) {
      const Tensor host = local.at(param_name + "." + suffix)->to(Device::CPU);
      const FlatPlace& place = place_of(flat, param_slices.front().param);
      int64_t from = 0;  // the slice's elements in the entry
      for (const ParameterSlice& slice : param_slices) {
        // The slice's first element in the flat layout, and where that falls in this rank's chunks.
        const int64_t first = place.offset + slice.begin;
        const FlatBucket& b = flat.buckets()[static_cast<size_t>(flat.bucket_at(first))];
        const int64_t chunk = b.size / n;
        const int64_t at = first - b.offset - dp.rank() * chunk + b.offset / n;
        std::memcpy(&mine[static_cast<size_t>(at)], host.f32() + from, static_cast<size_t>(slice.count) * sizeof(float));
        from += slice.count;
      }
    }
    gathered.emplace_back(dp.rank() == 0 ? static_cast<size_t>(per_rank * n) : 0);
    dp.comm().gather(mine.data(), gathered.back().data(), mine.size() * sizeof(float), 0,
                     "checkpoint gather of " + suffix);
  }
  NamedTensors out;
  if (dp.rank() != 0) return out;
  // Entries in the order one process writes them: parameters in graph order, each with its buffers.
  std::vector<FlatPlace> places = flat.places();
  std::stable_sort(places.begin(), places.end(), [](const FlatPlace& a, const FlatPlace& b) { return a.node < b.node; });
  for (const FlatPlace& place : places) {
    for (size_t k = 0; k < suffixes.size(); ++k) {
      Tensor full = Tensor::empty(place.param->value.shape(), DType::F32);
      float* dst = full.f32();
      int bi = place.bucket;  // the bucket of element i (the pieces of a split parameter follow each other)
      for (int64_t i = 0; i < full.numel(); ++i) {
        const int64_t flat_index = place.offset + i;
        while (flat_index >= flat.buckets()[static_cast<size_t>(bi)].offset + flat.buckets()[static_cast<size_t>(bi)].size) ++bi;
        const FlatBucket& b = flat.buckets()[static_cast<size_t>(bi)];
        const int64_t chunk = b.size / n;
        const int64_t in_bucket = flat_index - b.offset;
        const int64_t owner = in_bucket / chunk;
        dst[i] = gathered[k][static_cast<size_t>(owner * per_rank + b.offset / n + in_bucket % chunk)];
      }
      out.emplace_back(place.param->name + "." + suffixes[k], full);
    }
  }
  for (const auto& [name, t] : state)
    if (name == kStepEntry) out.emplace_back(name, t);
  return out;
}

uint64_t bytes_fingerprint(const void* data, size_t n) {
  const auto* b = static_cast<const unsigned char*>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

}  // namespace

NamedTensors gather_optimizer_entries(Experiment& e) {
  DataParallel& dp = *e.data_parallel;
  NamedTensors out = e.optimizer ? e.optimizer->state() : NamedTensors{};
  if (dp.options().shard_optimizer_state) out = gather_sharded_state(dp, out);

  // Mode state: once when every rank holds the same bits, else once per rank.
  for (int i = 0; i < e.graph->size(); ++i)
    for (Parameter* p : e.executor->mode(i).state()) {
      const Tensor host = p->value.to(Device::CPU);
      const uint64_t mine = bytes_fingerprint(host.raw(), host.nbytes());
      std::vector<uint64_t> all(static_cast<size_t>(dp.size()));
      dp.comm().all_gather(&mine, all.data(), sizeof mine, "checkpoint check of " + p->name);
      out.emplace_back("mode." + p->name, host);
      if (std::all_of(all.begin(), all.end(), [&](uint64_t h) { return h == all[0]; })) continue;
      std::vector<unsigned char> gathered(dp.rank() == 0 ? host.nbytes() * static_cast<size_t>(dp.size()) : 0);
      dp.comm().gather(host.raw(), gathered.data(), host.nbytes(), 0, "checkpoint gather of " + p->name);
      if (dp.rank() != 0) continue;
      for (int r = 1; r < dp.size(); ++r) {
        Tensor copy = Tensor::empty(host.shape(), host.dtype());
        std::memcpy(copy.raw(), &gathered[host.nbytes() * static_cast<size_t>(r)], host.nbytes());
        out.emplace_back("mode.rank" + std::to_string(r) + "." + p->name, copy);
      }
    }
  return out;
}

void load_optimizer_entries(Experiment& e, const NamedTensors& entries, const std::string& file) {
  DataParallel& dp = *e.data_parallel;
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : entries) by_name[name] = &t;
  auto find = [&](const std::string& name) -> const Tensor& {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw DataError(file + ": tensor '" + name + "' is missing");
    return *it->second;
  };

  if (e.optimizer) {
    NamedTensors opt;
    if (dp.options().shard_optimizer_state) {
      // Each shard entry: the slice's elements of the full tensor.
      const auto slices = slices_by_name(dp);
      for (const auto& [name, t] : e.optimizer->state()) {
        if (name == kStepEntry) {
          opt.emplace_back(name, find(name));
          continue;
        }
        const size_t dot = name.rfind('.');
        auto it = slices.find(name.substr(0, dot));
        if (it == slices.end()) throw InternalError("sharded optimizer state: unexpected entry '" + name + "'");
        const std::vector<ParameterSlice>& param_slices = it->second;
        const Parameter& p = *param_slices.front().param;
        const Tensor& full = find(name);
        if (full.dtype() != DType::F32 || full.shape() != p.value.shape())
          throw DataError(file + ": tensor '" + name + "' has shape " + full.shape().str() + " " +
                          dtype_name(full.dtype()) + ", the optimizer expects " + p.value.shape().str() + " F32");
        const Tensor flat_full = full.reshape({full.numel()});
        if (param_slices.size() == 1) {
          const ParameterSlice& s = param_slices.front();
          opt.emplace_back(name, flat_full.slice0(s.begin, s.begin + s.count));
          continue;
        }
        int64_t total = 0;  // a split parameter's slices, end to end
        for (const ParameterSlice& s : param_slices) total += s.count;
        Tensor joined = Tensor::empty({total}, DType::F32);
        int64_t at = 0;
        for (const ParameterSlice& s : param_slices) {
          std::memcpy(joined.f32() + at, flat_full.f32() + s.begin, static_cast<size_t>(s.count) * sizeof(float));
          at += s.count;
        }
        opt.emplace_back(name, joined);
      }
    } else {
      for (const auto& [name, t] : entries)
        if (name.rfind("mode.", 0) != 0) opt.emplace_back(name, t);
    }
    e.optimizer->load_state(opt);
  }
  const std::string own = "mode.rank" + std::to_string(dp.rank()) + ".";
  for (int i = 0; i < e.graph->size(); ++i)
    for (Parameter* p : e.executor->mode(i).state()) {
      const Tensor& src = by_name.count(own + p->name) ? find(own + p->name) : find("mode." + p->name);
      if (src.shape() != p->value.shape() || src.dtype() != p->value.dtype())
        throw DataError(file + ": tensor 'mode." + p->name + "' has shape " + src.shape().str() + ", the mode expects " +
                        p->value.shape().str());
      p->value.copy_from(src);
    }
}

}  // namespace frugal
