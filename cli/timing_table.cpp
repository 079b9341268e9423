#include "cli/timing_table.h"

#include <cstdio>

namespace frugal::cli {

std::string timing_table(Graph& graph, const Executor& executor, int steps, double optimizer_seconds,
                         double step_seconds, int64_t batch) {
  std::string out;
  char line[256];
  auto ms = [&](double s) { return 1000.0 * s / steps; };
  std::snprintf(line, sizeof line, "%-28s %-14s %10s %10s %10s %9s\n", "layer", "kind", "fwd ms", "bwd ms",
                "GFLOP/s", "share");
  out += line;
  double forward = 0, backward = 0;
  const auto& t = executor.node_timings();
  for (int i = 0; i < graph.size() && i < static_cast<int>(t.size()); ++i) {
    forward += t[i].forward;
    backward += t[i].backward;
  }
  for (int i = 0; i < graph.size() && i < static_cast<int>(t.size()); ++i) {
    Layer& l = graph.layer(i);
    // Backward of conv/linear costs about twice the forward FLOPs (data and weight gradients).
    double flops = 3.0 * static_cast<double>(l.forward_flops()) * steps;
    double secs = t[i].forward + t[i].backward;
    std::snprintf(line, sizeof line, "%-28s %-14s %10.3f %10.3f %10.2f %8.1f%%\n", l.name().c_str(), l.kind(),
                  ms(t[i].forward), ms(t[i].backward), secs > 0 ? flops / secs / 1e9 : 0.0,
                  step_seconds > 0 ? 100.0 * secs / step_seconds : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "phases per step: forward %.3f ms, loss %.3f ms, backward %.3f ms, optimizer %.3f ms; "
                "step %.3f ms = %.0f images/s, %.2f GFLOP/s\n",
                ms(forward), ms(executor.loss_seconds()), ms(backward), ms(optimizer_seconds), ms(step_seconds),
                batch * steps / step_seconds, 3.0 * graph.forward_flops() * steps / step_seconds / 1e9);
  out += line;
  return out;
}

}  // namespace frugal::cli
