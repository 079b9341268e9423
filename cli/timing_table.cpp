#include "cli/timing_table.h"

#include <cstdio>
#include <numeric>
#include <vector>

namespace frugal::cli {

std::string timing_table(Graph& graph, const Executor& executor, const TimedSteps& run) {
  const int steps = static_cast<int>(run.step_seconds.size());
  const double step_seconds = std::accumulate(run.step_seconds.begin(), run.step_seconds.end(), 0.0);
  const double optimizer_seconds = std::accumulate(run.optimizer_seconds.begin(), run.optimizer_seconds.end(), 0.0);
  std::string out;
  char line[320];
  auto ms = [&](double s) { return 1000.0 * s / steps; };
  std::snprintf(line, sizeof line, "%-28s %-14s %10s %11s %11s %10s %9s\n", "layer", "kind", "fwd ms",
                "bwd-data ms", "bwd-wgt ms", "GFLOP/s", "share");
  out += line;
  double forward = 0, backward_data = 0, backward_weight = 0;
  const auto& t = executor.node_timings();
  const int nodes = std::min(graph.size(), static_cast<int>(t.size()));
  for (int i = 0; i < nodes; ++i) {
    forward += t[i].forward;
    backward_data += t[i].backward_data();
    backward_weight += t[i].backward_weight;
  }
  // The graph is set up for one pass; a step runs micro_batches() of them (train.micro_batches).
  const double passes = executor.micro_batches();
  // A folded ReLU's passes run (and are timed) inside its producer's.
  std::vector<int> folded_from(nodes, -1);
  for (int i = 0; i < nodes; ++i)
    if (executor.relu_folded_into(i) >= 0) folded_from[executor.relu_folded_into(i)] = i;
  for (int i = 0; i < nodes; ++i) {
    Layer& l = graph.layer(i);
    if (executor.relu_folded_into(i) >= 0) {
      std::snprintf(line, sizeof line, "%-28s %-14s   folded into %s\n", l.name().c_str(), l.kind(),
                    graph.layer(executor.relu_folded_into(i)).name().c_str());
      out += line;
      continue;
    }
    int64_t layer_flops = l.forward_flops();
    if (folded_from[i] >= 0) layer_flops += graph.layer(folded_from[i]).forward_flops();
    // Backward of conv/linear costs about twice the forward FLOPs (data and weight gradients).
    double flops = 3.0 * static_cast<double>(layer_flops) * passes * steps;
    double secs = t[i].forward + t[i].backward;
    std::snprintf(line, sizeof line, "%-28s %-14s %10.3f %11.3f %11.3f %10.2f %8.1f%%\n", l.name().c_str(),
                  l.kind(), ms(t[i].forward), ms(t[i].backward_data()), ms(t[i].backward_weight),
                  secs > 0 ? flops / secs / 1e9 : 0.0, step_seconds > 0 ? 100.0 * secs / step_seconds : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "phases per step: forward %.3f ms, loss %.3f ms, backward-data %.3f ms, backward-weight %.3f ms, "
                "optimizer %.3f ms; step %.3f ms = %.0f images/s, %.2f GFLOP/s\n",
                ms(forward), ms(executor.loss_seconds()), ms(backward_data), ms(backward_weight),
                ms(optimizer_seconds), ms(step_seconds), run.batch * steps / step_seconds,
                3.0 * graph.forward_flops() * passes * steps / step_seconds / 1e9);
  out += line;
  // Only modes that compute weight gradients as a separate piece report them (exact: Conv2d, Linear).
  out += "(bwd-wgt: weight gradients of Conv2d/Linear under the exact mode; everything else, BatchNorm's fused "
         "dgamma/dbeta included, counts as bwd-data)\n";
  return out;
}

}  // namespace frugal::cli
