#include "training/budget/measurements.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/log.h"
#include "training/budget/quiet_log.h"
#include "training/gradcheck.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

std::vector<float> gradients_of(Graph& graph) {
  std::vector<float> out;
  for (Parameter* p : graph.trainable_parameters()) {
    const Tensor g = p->grad.to(Device::CPU);
    out.insert(out.end(), g.f32(), g.f32() + g.numel());
  }
  return out;
}

nlohmann::json backward_of(const CandidateSet& c, const Assignment& a) {
  return {{"default", {{"mode", "exact"}}}, {"layers", c.backward_layers(a)}};
}

}  // namespace

double Measurements::exact_step_seconds() const {
  double t = loss_seconds;
  for (const auto& n : nodes) t += n[0].forward_seconds + n[0].backward_seconds;
  return t;
}

GradientProbe::GradientProbe(Graph& graph, const CandidateSet& candidates, int64_t num_classes,
                             std::vector<Batch> batches, uint64_t seed)
    : graph_(graph), candidates_(candidates), num_classes_(num_classes), batches_(std::move(batches)), seed_(seed) {
  for (int i = 0; i < graph.size(); ++i)
    for (Parameter* p : graph.layer(i).parameters())
      if (p->trainable) owner_.insert(owner_.end(), static_cast<size_t>(p->value.numel()), i);
  ParameterSnapshot start(graph);
  Executor exact(graph, assign_backward_modes(graph, backward_of(candidates, candidates.all_exact()), seed), "static",
                 num_classes);
  for (size_t b = 0; b < batches_.size(); ++b) {
    exact.train_step(batches_[b].images, batches_[b].labels, b, seed);
    exact_.push_back(gradients_of(graph));
    start.restore();
  }
}

GradientError GradientProbe::run(const Assignment& a, int micro_batches) {
  ++runs_;
  QuietLog quiet;
  ParameterSnapshot start(graph_);
  Executor ex(graph_, assign_backward_modes(graph_, backward_of(candidates_, a), seed_), "static", num_classes_);
  ex.set_micro_batches(micro_batches);
  ex.set_timing(true);
  GradientError r;
  r.rel_l2 = 0;
  r.cosine = 0;
  r.node_rel_l2.assign(graph_.size(), 0.0);
  for (size_t b = 0; b < batches_.size(); ++b) {
    ex.train_step(batches_[b].images, batches_[b].labels, b, seed_);
    start.restore();
    const std::vector<float> g = gradients_of(graph_);
    const std::vector<float>& e = exact_[b];
    std::vector<double> node_d2(graph_.size(), 0.0);
    double dot = 0, gg = 0, ee = 0, dd = 0;
    for (size_t k = 0; k < g.size(); ++k) {
      const double d = double(g[k]) - e[k];
      dot += double(g[k]) * e[k];
      gg += double(g[k]) * g[k];
      ee += double(e[k]) * e[k];
      dd += d * d;
      node_d2[owner_[k]] += d * d;
    }
    r.rel_l2 += ee > 0 ? std::sqrt(dd / ee) : 0.0;
    r.cosine += gg > 0 && ee > 0 ? dot / std::sqrt(gg * ee) : (gg == ee ? 1.0 : 0.0);
    for (int i = 0; i < graph_.size(); ++i) r.node_rel_l2[i] += ee > 0 ? std::sqrt(node_d2[i] / ee) : 0.0;
  }
  const double n = static_cast<double>(batches_.size());
  r.rel_l2 /= n;
  r.cosine /= n;
  for (double& x : r.node_rel_l2) x /= n;
  r.timings = ex.node_timings();
  for (NodeTiming& t : r.timings) {
    t.forward /= n;
    t.backward /= n;
    t.backward_weight /= n;
    t.recompute /= n;
  }
  r.loss_seconds = ex.loss_seconds() / n;
  return r;
}

namespace {

nlohmann::json to_json(const Measurements& m, const CandidateSet& c, Graph& g, const std::string& key) {
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < c.size(); ++i) {
    nlohmann::json cands = nlohmann::json::array();
    for (size_t k = 0; k < c.of(i).size(); ++k) {
      const CandidateFigures& f = m.nodes[i][k];
      cands.push_back({{"spec", c.of(i)[k].spec},
                       {"error", f.error},
                       {"forward_seconds", f.forward_seconds},
                       {"backward_seconds", f.backward_seconds}});
    }
    nodes.push_back({{"layer", g.layer(i).name()}, {"candidates", cands}});
  }
  return {{"key", key}, {"batches", m.batches}, {"runs", m.runs}, {"seconds", m.seconds},
          {"loss_seconds", m.loss_seconds}, {"nodes", nodes}};
}

// The cached measurements when the file holds them for `key` and the same layers and candidates.
bool from_json(const nlohmann::json& j, const CandidateSet& c, Graph& g, const std::string& key, Measurements& m) {
  if (!j.is_object() || j.value("key", std::string()) != key) return false;
  const auto& nodes = j.at("nodes");
  if (static_cast<int>(nodes.size()) != c.size()) return false;
  m.nodes.assign(c.size(), {});
  for (int i = 0; i < c.size(); ++i) {
    if (nodes[i].at("layer") != g.layer(i).name() || nodes[i].at("candidates").size() != c.of(i).size()) return false;
    for (size_t k = 0; k < c.of(i).size(); ++k) {
      const auto& f = nodes[i].at("candidates")[k];
      if (f.at("spec") != c.of(i)[k].spec) return false;
      m.nodes[i].push_back({f.at("error").get<double>(), f.at("forward_seconds").get<double>(),
                            f.at("backward_seconds").get<double>()});
    }
  }
  m.loss_seconds = j.at("loss_seconds").get<double>();
  m.batches = j.at("batches").get<int>();
  m.runs = j.at("runs").get<int>();
  m.from_cache = true;
  return true;
}

}  // namespace

Measurements measure_candidates(GradientProbe& probe, const CandidateSet& c, int batches,
                                const std::string& cache_file, const std::string& cache_key) {
  Graph& g = const_cast<Graph&>(c.graph());
  Measurements m;
  if (!cache_file.empty() && std::filesystem::exists(cache_file)) {
    std::ifstream in(cache_file);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (from_json(j, c, g, cache_key, m)) return m;
  }
  const auto start = std::chrono::steady_clock::now();
  const int L = c.size();
  m.batches = batches;
  m.nodes.assign(L, {});
  for (int i = 0; i < L; ++i) m.nodes[i].assign(c.of(i).size(), CandidateFigures{});
  std::vector<std::vector<bool>> timed(L);
  for (int i = 0; i < L; ++i) timed[i].assign(c.of(i).size(), false);
  auto record_times = [&](const Assignment& a, const GradientError& r) {
    for (int i = 0; i < L; ++i)
      if (!timed[i][a[i]]) {
        m.nodes[i][a[i]].forward_seconds = r.timings[i].forward;
        m.nodes[i][a[i]].backward_seconds = r.timings[i].backward;
        timed[i][a[i]] = true;
      }
  };

  const GradientError exact = probe.run(c.all_exact());
  m.loss_seconds = exact.loss_seconds;
  record_times(c.all_exact(), exact);

  // Candidates spec by spec: those that only touch their own layer run together.
  for (const std::string& spec : c.specs()) {
    Assignment together = c.all_exact();
    bool any = false;
    for (int i = 0; i < L; ++i) {
      const int k = c.find(i, spec);
      if (k > 0 && c.of(i)[k].local && !c.of(i)[k].exact_gradients) {
        Assignment trial = together;
        trial[i] = k;
        if (c.repair(trial, i)) {
          together = trial;
          any = true;
        }
      }
    }
    if (!any) continue;
    const GradientError r = probe.run(together);
    for (int i = 0; i < L; ++i)
      if (together[i] > 0 && c.chosen(together, i).local && !c.chosen(together, i).exact_gradients)
        m.nodes[i][together[i]].error = r.node_rel_l2[i];
    record_times(together, r);
  }
  for (int i = 0; i < L; ++i)
    for (size_t k = 1; k < c.of(i).size(); ++k) {
      const ModeCandidate& cand = c.of(i)[k];
      if (cand.local) continue;
      Assignment alone = c.all_exact();
      alone[i] = static_cast<int>(k);
      if (!c.repair(alone, i)) continue;
      const GradientError r = probe.run(alone);
      m.nodes[i][k].error = r.rel_l2;
      record_times(alone, r);
    }
  // Candidates no run gave a time (recompute, for one) take their layer's exact times.
  for (int i = 0; i < L; ++i)
    for (size_t k = 1; k < c.of(i).size(); ++k)
      if (!timed[i][k]) {
        m.nodes[i][k].forward_seconds = m.nodes[i][0].forward_seconds;
        m.nodes[i][k].backward_seconds = m.nodes[i][0].backward_seconds;
      }
  m.runs = probe.runs();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!cache_file.empty()) {
    std::filesystem::create_directories(std::filesystem::path(cache_file).parent_path());
    write_file_atomic(cache_file, to_json(m, c, g, cache_key).dump(1) + "\n");
  }
  return m;
}

}  // namespace frugal
