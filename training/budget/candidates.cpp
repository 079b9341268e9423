#include "training/budget/candidates.h"

#include <set>

#include "core/error.h"
#include "ops/activation.h"
#include "ops/norm.h"
#include "training/budget/mode_spec.h"
#include "training/budget/quiet_log.h"
#include "training/modes/fewbit_table.h"
#include "training/modes/quantized.h"
#include "training/modes/registry.h"

namespace frugal {
namespace {

bool is_weighted(const Layer& layer) { return dynamic_cast<const WeightedLayer*>(&layer) != nullptr; }
bool is_batchnorm(const Layer& layer) { return dynamic_cast<const BatchNorm*>(&layer) != nullptr; }

// Modes that change more than one layer's training rule (feedback alignment and friends): only when named.
std::string spec_of_entry(const nlohmann::json& entry) { return mode_spec_of(entry); }

}  // namespace

const std::vector<std::string>& default_candidate_specs() {
  static const std::vector<std::string> specs = {
      "exact",         "recompute",     "quantized:bits=8", "quantized:bits=4",          "quantized:bits=2",
      "fewbit:bits=1", "fewbit:bits=2", "fewbit:bits=3",    "fewbit:bits=4",             "randomized_trace:probes=8",
      "randomized_trace:probes=32",     "randomized_trace:probes=128"};
  return specs;
}

CandidateSet::CandidateSet(Graph& graph, const std::vector<std::string>& specs, uint64_t seed)
    : graph_(graph), specs_(specs) {
  QuietLog quiet;
  const int L = graph.size();
  relu_producer_.assign(L, -1);
  bn_producer_.assign(L, -1);
  for (int i = 0; i < L; ++i) {
    const auto& ins = graph.node(i).inputs;
    if (ins.size() != 1 || ins[0] == Graph::kInput) continue;
    const Layer& producer = graph.layer(ins[0]);
    if (is_weighted(graph.layer(i)) && is_relu(producer)) relu_producer_[i] = ins[0];
    if (is_relu(graph.layer(i)) && is_batchnorm(producer)) bn_producer_[i] = ins[0];
  }
  std::vector<nlohmann::json> entries;
  for (const std::string& spec : specs) {
    nlohmann::json entry = parse_mode_spec(spec, "backward.auto.candidates");
    const std::string mode = entry.at("mode").get<std::string>();
    const auto names = registered_backward_modes();
    FRUGAL_CHECK(std::find(names.begin(), names.end(), mode) != names.end(), ConfigError,
                 "backward.auto.candidates: '" + spec + "' names no backward mode (available: recompute and the " +
                     "registered modes)");
    entries.push_back(entry);
  }
  per_node_.resize(L);
  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    per_node_[i].push_back({{{"mode", "exact"}}, "exact", true, true});
    std::set<std::string> seen = {"exact"};
    for (const nlohmann::json& entry : entries) {
      const std::string mode = entry.at("mode").get<std::string>();
      ModeCandidate c;
      c.entry = entry;
      if (mode == "exact") continue;
      if (mode == "quantized" && is_weighted(layer) && relu_producer_[i] < 0) continue;  // no code to read
      // One mode instance tells whether it serves the layer (and checks the knobs).
      std::unique_ptr<BackwardMode> instance;
      try {
        instance = make_backward_mode(entry, layer, i, seed);
      } catch (const ConfigError& e) {
        throw ConfigError("backward.auto.candidates: '" + spec_of_entry(entry) + "' on layer '" + layer.name() +
                          "': " + e.what());
      }
      if (!instance || !instance->supports(layer)) continue;
      // ReLU and LeakyReLU: exact with one bit, whatever was asked.
      if (mode == "fewbit" && dynamic_cast<const Activation*>(&layer) &&
          fewbit_is_stepwise(static_cast<const Activation&>(layer).spec().kind))
        c.entry["bits"] = 1;
      c.spec = mode_spec_of(c.entry);
      if (!seen.insert(c.spec).second) continue;
      c.exact_gradients = mode == "recompute" || instance->reproduces_exact_backward(layer) ||
                          (mode == "quantized" && is_relu(layer));
      c.local = c.exact_gradients || ((mode == "quantized" || mode == "randomized_trace") && is_weighted(layer));
      per_node_[i].push_back(std::move(c));
    }
  }
}

int CandidateSet::find(int node, const std::string& spec) const {
  for (size_t k = 0; k < per_node_[node].size(); ++k)
    if (per_node_[node][k].spec == spec) return static_cast<int>(k);
  return -1;
}

int CandidateSet::bits_of(const Assignment& a, int node, const std::string& mode) const {
  const nlohmann::json& e = chosen(a, node).entry;
  if (e.at("mode") != mode) return -1;
  return e.value("bits", kQuantizedDefaultBits);  // the mode's own default when the entry names none
}

bool CandidateSet::valid(const Assignment& a) const {
  for (int i = 0; i < size(); ++i) {
    const int q = bits_of(a, i, "quantized");
    if (q < 0) continue;
    if (relu_producer_[i] >= 0 && is_weighted(graph_.layer(i)) && bits_of(a, relu_producer_[i], "quantized") != q)
      return false;
    if (bn_producer_[i] >= 0) {
      const int bn = bits_of(a, bn_producer_[i], "quantized");
      if (bn >= 0 && bn != q) return false;
    }
  }
  return true;
}

bool CandidateSet::repair(Assignment& a, int changed) const {
  // Few rounds suffice: each rule moves a neighbour to the changed node's bits or to exact.
  for (int round = 0; round < 4 && !valid(a); ++round)
    for (int i = 0; i < size(); ++i) {
      const int q = bits_of(a, i, "quantized");
      const std::string spec = "quantized:bits=" + std::to_string(q);
      if (q >= 0 && is_weighted(graph_.layer(i)) && relu_producer_[i] >= 0) {
        const int relu = relu_producer_[i];
        const int rq = bits_of(a, relu, "quantized");
        if (rq == q) continue;
        if (i == changed || rq < 0) {
          const int k = find(relu, spec);
          if (k < 0) return false;
          a[relu] = k;
        } else {
          a[i] = 0;  // its ReLU moved: this reader goes back to exact
        }
      }
      if (q >= 0 && bn_producer_[i] >= 0) {
        const int bn = bits_of(a, bn_producer_[i], "quantized");
        if (bn >= 0 && bn != q) {
          const int k = find(bn_producer_[i], spec);
          if (k < 0) return false;
          a[bn_producer_[i]] = k;
        }
      }
    }
  return valid(a);
}

Assignment CandidateSet::uniform(const std::string& spec) const {
  Assignment a = all_exact();
  bool any = spec == "exact";
  const nlohmann::json entry = parse_mode_spec(spec, "uniform");
  for (int i = 0; i < size(); ++i) {
    nlohmann::json e = entry;
    const bool relu = is_relu(graph_.layer(i));
    if (e.at("mode") == "fewbit" && dynamic_cast<const Activation*>(&graph_.layer(i)) &&
        fewbit_is_stepwise(static_cast<const Activation&>(graph_.layer(i)).spec().kind))
      e["bits"] = 1;
    // As backward.default: randomized_trace gives ReLUs their exact 1-bit mask (its default_fallback).
    if (e.at("mode") == "randomized_trace" && relu) e = {{"mode", "fewbit"}, {"bits", 1}};
    const int k = find(i, mode_spec_of(e));
    if (k > 0) {
      a[i] = k;
      any = true;
    }
  }
  if (!any) return {};
  for (int i = 0; i < size(); ++i)  // a quantized reader whose ReLU is not quantized falls back to exact
    if (!valid(a)) {
      const int q = bits_of(a, i, "quantized");
      if (q >= 0 && is_weighted(graph_.layer(i)) && relu_producer_[i] >= 0 &&
          bits_of(a, relu_producer_[i], "quantized") != q)
        a[i] = 0;
    }
  return valid(a) ? a : Assignment{};
}

nlohmann::json CandidateSet::backward_layers(const Assignment& a) const {
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 0; i < size(); ++i) {
    nlohmann::json e = chosen(a, i).entry;
    nlohmann::json out = {{"match", graph_.layer(i).name()}};
    for (const auto& [k, v] : e.items()) out[k] = v;
    layers.push_back(out);
  }
  return layers;
}

}  // namespace frugal
