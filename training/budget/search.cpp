#include "training/budget/search.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

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

bool BudgetSearch::within_time(double seconds) const {
  return max_slowdown_ <= 0 || seconds <= max_slowdown_ * exact_seconds_;
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
  for (int i : planner_.nodes_above(a, target)) {
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
  o.predicted_error = predicted_error(a);
  o.predicted_seconds = predicted_seconds(a);
  o.fits = o.arena <= budget && within_time(o.predicted_seconds);
  return o;
}

std::vector<Assignment> BudgetSearch::starts(const Assignment& start) const {
  std::vector<Assignment> out = {start};
  for (const std::string& spec : candidates_.specs()) {
    Assignment u = candidates_.uniform(spec);
    if (u.empty()) continue;
    for (int i = 0; i < candidates_.size(); ++i)
      if (fixed_[i]) u[i] = start[i];
    if (candidates_.valid(u) && u != start) out.push_back(u);
  }
  return out;
}

SearchOutcome BudgetSearch::fit(size_t budget, const Assignment& start, const Assignment* known_small) {
  // Single moves cannot always see that a group of layers must change together (a quantized BatchNorm,
  // its ReLU and the conv after it): the search also starts from every uniform assignment, and from the
  // smallest one found, and keeps the fitting result of least predicted error.
  SearchOutcome best;
  bool found = false;
  auto consider = [&](const SearchOutcome& o) {
    if (o.fits && (!found || o.predicted_error < best.predicted_error ||
                   (o.predicted_error == best.predicted_error && o.predicted_seconds < best.predicted_seconds))) {
      best = o;
      found = true;
    }
  };
  consider(fit_from(budget, start));
  for (const Assignment& s : starts(start))  // the uniform ones that fit: only the repair runs
    if (s != start && planner_.evaluate(s, true).arena <= budget) {
      consider(outcome(s, budget));  // the repair may wander off a fitting start; the start still counts
      consider(fit_from(budget, s));
    }
  if (!found && known_small && !known_small->empty()) {  // the smallest step found before: no new search
    consider(outcome(*known_small, budget));
    if (planner_.evaluate(*known_small, true).arena <= budget) consider(fit_from(budget, *known_small));
  }
  if (!found) {
    const SearchOutcome least = smallest(start);
    if (least.arena <= budget) {
      consider(outcome(least.assignment, budget));
      consider(fit_from(budget, least.assignment));
    }
  }
  return found ? best : outcome(start, budget);
}

bool BudgetSearch::greedy(Assignment& a, size_t target) {
  // Lazy greedy: moves are kept with the score they had when last evaluated, best first; the best is
  // evaluated again against the current assignment and taken if it still beats the next one's stale
  // score. Scores seldom improve as other moves are taken, so few moves are evaluated per step. When
  // the kept moves run out or stop removing bytes, every move is evaluated afresh.
  struct Scored {
    double cost = 0, time = 0;
    int node = 0, candidate = 0;
    bool operator<(const Scored& o) const { return cost != o.cost ? cost > o.cost : time > o.time; }
  };
  const double time_limit = max_slowdown_ > 0 ? max_slowdown_ * exact_seconds_ : INFINITY;
  // The assignment after moving `node` to `candidate`, and its score; false when it removes nothing.
  auto score = [&](int node, int candidate, size_t excess, Assignment& next, Scored& out) {
    next = a;
    next[node] = candidate;
    if (!candidates_.repair(next, node)) return false;
    for (int j = 0; j < candidates_.size(); ++j)
      if (fixed_[j] && next[j] != a[j]) return false;
    const size_t after = excess_over(next, target);
    if (after >= excess) return false;
    const double seconds = predicted_seconds(next), now = predicted_seconds(a);
    if (seconds > time_limit && seconds > now) return false;
    const double gained = static_cast<double>(excess - after);
    out = {std::max(0.0, std::pow(predicted_error(next), 2) - std::pow(predicted_error(a), 2)) / gained,
           std::max(0.0, seconds - now) / gained, node, candidate};
    return true;
  };
  std::priority_queue<Scored> kept;
  auto refresh = [&](size_t excess) {
    kept = {};
    Assignment next;
    Scored sc;
    for (int i : planner_.nodes_above(a, target)) {
      if (fixed_[i]) continue;
      for (int k = 0; k < static_cast<int>(candidates_.of(i).size()); ++k)
        if (k != a[i] && score(i, k, excess, next, sc)) kept.push(sc);
    }
  };
  bool fresh = false;
  for (size_t excess = excess_over(a, target); excess > 0;) {
    if (kept.empty()) {
      if (fresh) return false;
      refresh(excess);
      fresh = true;
      continue;
    }
    const Scored top = kept.top();
    kept.pop();
    Assignment next;
    Scored now;
    if (top.candidate == a[top.node] || !score(top.node, top.candidate, excess, next, now)) continue;
    if (!kept.empty() && now < kept.top()) {  // worse than the next one's (stale) score: look again later
      kept.push(now);
      continue;
    }
    a = next;
    excess = excess_over(a, target);
    fresh = false;
  }
  return true;
}

SearchOutcome BudgetSearch::fit_from(size_t budget, const Assignment& from) {
  const SearchOutcome result = fit_rounds(budget, from);
  if (result.fits) return result;
  // A repair that made the placement overflow and a greedy that then got stuck: the start, when it fit,
  // repaired against the placed arena itself (slower, but it cannot leave the budget).
  if (!outcome(from, budget).fits) return result;
  Assignment a = from;
  for (bool improved = true; improved;) {
    improved = false;
    for (int i = 0; i < candidates_.size(); ++i) {
      if (fixed_[i] || measured_.nodes[i][a[i]].error <= 0) continue;
      for (int k = 0; k < static_cast<int>(candidates_.of(i).size()); ++k) {
        if (measured_.nodes[i][k].error >= measured_.nodes[i][a[i]].error) continue;
        Assignment trial = a;
        trial[i] = k;
        if (!candidates_.repair(trial, i) || predicted_error(trial) >= predicted_error(a)) continue;
        bool touches_fixed = false;
        for (int j = 0; j < candidates_.size(); ++j) touches_fixed |= fixed_[j] && trial[j] != a[j];
        if (touches_fixed) continue;
        const SearchOutcome o = outcome(trial, budget);
        if (!o.fits) continue;
        a = trial;
        improved = true;
      }
    }
  }
  return outcome(a, budget);
}

SearchOutcome BudgetSearch::fit_rounds(size_t budget, const Assignment& from) {
  Assignment a = from;
  size_t target = budget;  // for live bytes; lowered when the arena needs more than they do
  for (int round = 0; round < 8; ++round) {
    // 1. Greedy.
    if (!greedy(a, target)) return outcome(a, budget);  // nothing removes bytes above the target any more
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
  // From `start` and from the two smallest uniform assignments.
  std::vector<Assignment> from = starts(start);
  std::stable_sort(from.begin() + 1, from.end(), [&](const Assignment& x, const Assignment& y) {
    return planner_.evaluate(x).live_peak < planner_.evaluate(y).live_peak;
  });
  if (from.size() > 3) from.resize(3);
  SearchOutcome best;
  bool found = false;
  for (const Assignment& s : from) {
    const SearchOutcome o = smallest_from(s);
    if (!within_time(o.predicted_seconds)) continue;
    if (!found || o.arena < best.arena) best = o;
    found = true;
  }
  return found ? best : smallest_from(start);
}

SearchOutcome BudgetSearch::smallest_from(const Assignment& start) {
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
