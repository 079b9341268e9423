#include "training/budget/search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace frugal {

BudgetSearch::BudgetSearch(const CandidateSet& candidates, AssignmentPlanner& planner, const Measurements& measured,
                           double max_slowdown, std::vector<bool> fixed)
    : candidates_(candidates), planner_(planner), measured_(measured), max_slowdown_(max_slowdown),
      fixed_(std::move(fixed)), exact_seconds_(measured.exact_step_seconds()) {
  if (fixed_.empty()) fixed_.assign(candidates.size(), false);
}

double BudgetSearch::predicted_error(const Assignment& a) const {
  double e2 = 0;
  for (int i = 0; i < candidates_.size(); ++i) {
    const double e = measured_.nodes[i][a[i]].error;
    e2 += e * e;
  }
  return std::sqrt(e2);
}

double BudgetSearch::predicted_seconds(const Assignment& a) {
  const PlannedAssignment& p = planner_.evaluate(a);
  double t = measured_.loss_seconds;
  for (int i = 0; i < candidates_.size(); ++i) {
    const CandidateFigures& f = measured_.nodes[i][a[i]];
    t += f.forward_seconds + f.backward_seconds + p.reruns[i] * measured_.nodes[i][0].forward_seconds;
  }
  return t;
}

size_t BudgetSearch::excess_over(const Assignment& a, size_t target) {
  size_t sum = 0;
  for (size_t bytes : planner_.evaluate(a).live) sum += bytes > target ? bytes - target : 0;
  return sum;
}

std::vector<BudgetSearch::Move> BudgetSearch::moves(const Assignment& a, size_t target) {
  std::vector<Move> out;
  const double e2 = std::pow(predicted_error(a), 2);
  const double t = predicted_seconds(a);
  const double time_limit = max_slowdown_ > 0 ? max_slowdown_ * exact_seconds_ : INFINITY;
  for (int i = 0; i < candidates_.size(); ++i) {
    if (fixed_[i]) continue;
    for (int k = 0; k < static_cast<int>(candidates_.of(i).size()); ++k) {
      if (k == a[i]) continue;
      Move m;
      m.next = a;
      m.next[i] = k;
      if (!candidates_.repair(m.next, i)) continue;
      bool touches_fixed = false;
      for (int j = 0; j < candidates_.size(); ++j) touches_fixed |= fixed_[j] && m.next[j] != a[j];
      if (touches_fixed) continue;
      m.d_seconds = predicted_seconds(m.next) - t;
      if (t + m.d_seconds > time_limit && m.d_seconds > 0) continue;
      m.d_error2 = std::pow(predicted_error(m.next), 2) - e2;
      m.excess = excess_over(m.next, target);
      m.peak = planner_.evaluate(m.next).live_peak;
      out.push_back(std::move(m));
    }
  }
  return out;
}

SearchOutcome BudgetSearch::outcome(const Assignment& a, size_t budget) {
  SearchOutcome o;
  o.assignment = a;
  o.arena = planner_.evaluate(a, true).arena;
  o.fits = o.arena <= budget;
  o.predicted_error = predicted_error(a);
  o.predicted_seconds = predicted_seconds(a);
  return o;
}

SearchOutcome BudgetSearch::fit(size_t budget, const Assignment& start) {
  SearchOutcome greedy = fit_from(budget, start);
  if (greedy.fits) return greedy;
  // The greedy can stall where every single move adds bytes somewhere else first: from the smallest
  // assignment the moves reach, give back error while the step still fits.
  const SearchOutcome least = smallest(start);
  if (least.arena > budget) return greedy;
  return fit_from(budget, least.assignment);
}

SearchOutcome BudgetSearch::fit_from(size_t budget, const Assignment& from) {
  Assignment a = from;
  size_t target = budget;  // for live bytes; lowered when the arena needs more than they do
  for (int round = 0; round < 8; ++round) {
    // 1. Greedy.
    for (size_t excess = excess_over(a, target); excess > 0; excess = excess_over(a, target)) {
      const Move* best = nullptr;
      double best_cost = 0, best_time = 0;
      const std::vector<Move> ms = moves(a, target);
      for (const Move& m : ms) {
        if (m.excess >= excess) continue;
        const double gained = static_cast<double>(excess - m.excess);
        const double cost = std::max(0.0, m.d_error2) / gained, time = std::max(0.0, m.d_seconds) / gained;
        if (!best || cost < best_cost || (cost == best_cost && time < best_time)) {
          best = &m;
          best_cost = cost;
          best_time = time;
        }
      }
      if (!best) return outcome(a, budget);  // nothing removes bytes above the target any more
      a = best->next;
    }
    // 2. Repair: give lossy layers back their least-error candidate that still fits the target.
    std::vector<int> lossy;
    for (int i = 0; i < candidates_.size(); ++i)
      if (!fixed_[i] && measured_.nodes[i][a[i]].error > 0) lossy.push_back(i);
    std::sort(lossy.begin(), lossy.end(), [&](int x, int y) {
      return measured_.nodes[x][a[x]].error > measured_.nodes[y][a[y]].error;
    });
    const double time_limit = max_slowdown_ > 0 ? max_slowdown_ * exact_seconds_ : INFINITY;
    for (int i : lossy) {
      std::vector<int> order(candidates_.of(i).size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
        return measured_.nodes[i][x].error < measured_.nodes[i][y].error;
      });
      for (int k : order) {
        if (measured_.nodes[i][k].error >= measured_.nodes[i][a[i]].error) break;
        Assignment trial = a;
        trial[i] = k;
        if (!candidates_.repair(trial, i) || predicted_error(trial) >= predicted_error(a)) continue;
        if (planner_.evaluate(trial).live_peak > target) continue;
        if (predicted_seconds(trial) > time_limit && predicted_seconds(trial) > predicted_seconds(a)) continue;
        a = trial;
        break;
      }
    }
    // 3. Placement.
    const size_t arena = planner_.evaluate(a, true).arena;
    if (arena <= budget) return outcome(a, budget);
    const size_t over = arena - budget;
    if (over >= target) return outcome(a, budget);
    target -= over;
  }
  return outcome(a, budget);
}

SearchOutcome BudgetSearch::smallest(const Assignment& start) {
  Assignment a = start;
  for (;;) {
    const PlannedAssignment& now = planner_.evaluate(a);
    const size_t peak = now.live_peak;
    // Below the peak nothing counts: moves are judged by the peak, then by the bytes at it.
    const size_t target = peak > 0 ? peak - 1 : 0;
    const size_t excess = excess_over(a, target);
    const Move* best = nullptr;
    const std::vector<Move> ms = moves(a, target);
    for (const Move& m : ms) {
      if (m.peak > peak || (m.peak == peak && m.excess >= excess)) continue;
      if (!best || m.peak < best->peak || (m.peak == best->peak && m.excess < best->excess)) best = &m;
    }
    if (!best) break;
    a = best->next;
  }
  SearchOutcome o = outcome(a, 0);
  o.fits = false;
  return o;
}

}  // namespace frugal
