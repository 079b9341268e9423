#include "training/gradcheck.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "core/error.h"

namespace frugal {
namespace {

double ratio(double num, double den) {
  if (den > 0) return num / den;
  return num > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

double cosine_of(double dot, double aa, double ee) {
  if (aa == 0 && ee == 0) return 1.0;
  if (aa == 0 || ee == 0) return 0.0;
  return dot / std::sqrt(aa * ee);
}

// Sums for one parameter (or all of them) over the draws of one batch.
struct DrawSums {
  double dot = 0, aa = 0, ee = 0, dd = 0;  // this draw: a.e, |a|^2, |e|^2, |a-e|^2
  double mean_diff2 = 0, mean_exact2 = 0, variance = 0;  // after the batch
};

struct Tracked {
  Parameter* candidate = nullptr;
  Parameter* reference = nullptr;
  GradientAgreement out;
  std::vector<double> sum_diff, sum_exact;
  std::vector<float> first_draw;
  double sum_sq_diff = 0;
  DrawSums sums;
};

void finish_batch(DrawSums& s, double sum_sq_diff, const std::vector<double>& sum_diff,
                  const std::vector<double>& sum_exact, int64_t draws) {
  double md2 = 0, me2 = 0;
  for (size_t i = 0; i < sum_diff.size(); ++i) {
    md2 += sum_diff[i] * sum_diff[i];
    me2 += sum_exact[i] * sum_exact[i];
  }
  const double d = static_cast<double>(draws);
  s.mean_diff2 = md2 / (d * d);
  s.mean_exact2 = me2 / (d * d);
  s.variance = draws > 1 ? std::max(0.0, (sum_sq_diff - d * s.mean_diff2) / (d - 1)) : 0.0;
}

}  // namespace

ParameterSnapshot::ParameterSnapshot(Executor& ex) {
  for (Parameter* p : ex.graph().parameters()) keep(p->value);
  for (int i = 0; i < ex.graph().size(); ++i)
    for (Parameter* p : ex.mode(i).state()) keep(p->value);
}

ParameterSnapshot::ParameterSnapshot(Graph& graph) {
  for (Parameter* p : graph.parameters()) keep(p->value);
}

void ParameterSnapshot::restore() {
  for (auto& [live, saved] : items_) live.copy_from(saved);
}

GradcheckResult compare_gradients(Executor& reference, Executor& candidate, const std::vector<Batch>& batches,
                                  int64_t draws, uint64_t seed) {
  FRUGAL_CHECK(draws >= 1 && !batches.empty(), ConfigError,
               "gradcheck: needs at least one batch and one draw, got " + std::to_string(batches.size()) +
                   " batches and " + std::to_string(draws) + " draws");
  // Plans first: modes with state (error-feedback memory) size it from the training batch.
  reference.training_plan(batches[0].images.dim(0));
  candidate.training_plan(batches[0].images.dim(0));

  std::map<std::string, Parameter*> by_name;
  for (Parameter* p : reference.graph().trainable_parameters()) by_name[p->name] = p;
  std::vector<Tracked> tracked;
  Graph& g = candidate.graph();
  for (int i = 0; i < g.size(); ++i)
    for (Parameter* p : g.layer(i).parameters()) {
      if (!p->trainable) continue;
      auto it = by_name.find(p->name);
      FRUGAL_CHECK(it != by_name.end() && it->second->value.shape() == p->value.shape(), ConfigError,
                   "gradcheck: parameter '" + p->name + "' " + p->value.shape().str() +
                       " has no counterpart of that shape in the reference model");
      Tracked t;
      t.candidate = p;
      t.reference = it->second;
      t.out.parameter = p->name;
      t.out.mode = candidate.mode(i).describe();
      t.out.numel = p->value.numel();
      tracked.push_back(std::move(t));
    }

  ParameterSnapshot ref_start(reference), cand_start(candidate);
  GradientAgreement total{"(all)", "", 0};
  for (const Tracked& t : tracked) total.numel += t.out.numel;
  uint64_t step = 0;
  for (const Batch& batch : batches) {
    for (Tracked& t : tracked) {
      t.sum_diff.assign(t.out.numel, 0.0);
      t.sum_exact.assign(t.out.numel, 0.0);
      t.sum_sq_diff = 0;
    }
    for (int64_t d = 0; d < draws; ++d, ++step) {
      ref_start.restore();
      cand_start.restore();
      reference.train_step(batch.images, batch.labels, step, seed);
      candidate.train_step(batch.images, batch.labels, step, seed);
      DrawSums all;
      for (Tracked& t : tracked) {
        const Tensor candidate_grad = t.candidate->grad.to(Device::CPU);  // the same tensor on the CPU
        const Tensor reference_grad = t.reference->grad.to(Device::CPU);
        const float* a = candidate_grad.f32();
        const float* e = reference_grad.f32();
        DrawSums s;
        for (int64_t i = 0; i < t.out.numel; ++i) {
          const double diff = double(a[i]) - e[i];
          s.dot += double(a[i]) * e[i];
          s.aa += double(a[i]) * a[i];
          s.ee += double(e[i]) * e[i];
          s.dd += diff * diff;
          t.sum_diff[i] += diff;
          t.sum_exact[i] += e[i];
        }
        if (d == 0) {
          t.first_draw.assign(a, a + t.out.numel);
        } else if (!t.out.stochastic) {
          for (int64_t i = 0; i < t.out.numel && !t.out.stochastic; ++i) t.out.stochastic = a[i] != t.first_draw[i];
        }
        t.sum_sq_diff += s.dd;
        t.out.cosine += cosine_of(s.dot, s.aa, s.ee);
        t.out.rel_l2 += ratio(std::sqrt(s.dd), std::sqrt(s.ee));
        all.dot += s.dot;
        all.aa += s.aa;
        all.ee += s.ee;
        all.dd += s.dd;
      }
      total.cosine += cosine_of(all.dot, all.aa, all.ee);
      total.rel_l2 += ratio(std::sqrt(all.dd), std::sqrt(all.ee));
    }
    DrawSums all;
    for (Tracked& t : tracked) {
      finish_batch(t.sums, t.sum_sq_diff, t.sum_diff, t.sum_exact, draws);
      t.out.bias += ratio(std::sqrt(t.sums.mean_diff2), std::sqrt(t.sums.mean_exact2));
      t.out.spread += ratio(std::sqrt(t.sums.variance), std::sqrt(t.sums.mean_exact2));
      all.mean_diff2 += t.sums.mean_diff2;
      all.mean_exact2 += t.sums.mean_exact2;
      all.variance += t.sums.variance;
      total.stochastic = total.stochastic || t.out.stochastic;
    }
    total.bias += ratio(std::sqrt(all.mean_diff2), std::sqrt(all.mean_exact2));
    total.spread += ratio(std::sqrt(all.variance), std::sqrt(all.mean_exact2));
  }
  ref_start.restore();
  cand_start.restore();

  const double runs = double(batches.size()) * double(draws), nb = double(batches.size());
  auto average = [&](GradientAgreement& a) {
    a.cosine /= runs;
    a.rel_l2 /= runs;
    a.bias /= nb;
    a.spread /= nb;
  };
  GradcheckResult result;
  result.batches = static_cast<int64_t>(batches.size());
  result.draws = draws;
  for (Tracked& t : tracked) {
    average(t.out);
    result.parameters.push_back(t.out);
  }
  average(total);
  result.total = total;
  return result;
}

namespace {

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json agreement_json(const GradientAgreement& a, int64_t draws) {
  return {{"parameter", a.parameter},
          {"mode", a.mode},
          {"numel", a.numel},
          {"cosine", finite_or_null(a.cosine)},
          {"rel_l2", finite_or_null(a.rel_l2)},
          {"bias", finite_or_null(a.bias)},
          {"spread", finite_or_null(a.spread)},
          {"bias_noise", finite_or_null(a.spread / std::sqrt(double(draws)))},
          {"stochastic", a.stochastic}};
}

}  // namespace

nlohmann::json gradcheck_json(const GradcheckResult& r) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& a : r.parameters) params.push_back(agreement_json(a, r.draws));
  return {{"batches", r.batches}, {"draws", r.draws}, {"parameters", params}, {"total", agreement_json(r.total, r.draws)}};
}

std::string gradcheck_table(const GradcheckResult& r) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "  %-28s %-56s %9s %9s %9s %9s %9s\n", "parameter", "mode", "cosine", "rel_l2",
                "bias", "+-noise", "spread");
  out += line;
  auto row = [&](const GradientAgreement& a) {
    std::string mode = a.mode.size() > 56 ? a.mode.substr(0, 53) + "..." : a.mode;
    std::snprintf(line, sizeof line, "  %-28s %-56s %9.5f %9.4f %9.4f %9.4f %9.4f\n", a.parameter.c_str(), mode.c_str(),
                  a.cosine, a.rel_l2, a.bias, a.spread / std::sqrt(double(r.draws)), a.spread);
    out += line;
  };
  for (const auto& a : r.parameters) row(a);
  row(r.total);
  return out;
}

}  // namespace frugal
