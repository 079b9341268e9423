// The budget search (docs/memory_budget.md, "How the choice is made"): greedy with repair over
// per-layer mode assignments.
//
// Predicted gradient error of an assignment: sqrt(sum over layers of error(layer, mode)^2), the errors
// measured one layer at a time (measurements.h) and taken as independent. Predicted step time: the
// layers' measured forward and backward times in their modes, plus one forward per re-run of a
// recomputed segment. Bytes: the step plan of the assignment (assignment_planner.h), exactly.
//
// 1. Greedy: from all-exact (and from every uniform assignment that fits, and the smallest found), while the step's live bytes exceed the target, take the move (one layer to
//    another candidate, its companions repaired) that removes the most bytes above the target per unit
//    of squared error added; among moves that add none, per second added. Moves that would exceed
//    max_slowdown are not taken.
// 2. Repair: layers in lossy modes, worst first, go back to the candidate of least error that keeps the
//    step within the target.
// 3. The static planner places the result; where its arena exceeds the live-bytes peak (fragmentation),
//    the target shrinks by the difference and the search goes on.
#pragma once
#include <string>
#include <vector>

#include "training/budget/assignment_planner.h"
#include "training/budget/measurements.h"

namespace frugal {

struct SearchOutcome {
  Assignment assignment;
  bool fits = false;
  size_t arena = 0;           // of the step plan
  double predicted_error = 0;
  double predicted_seconds = 0;
};

class BudgetSearch {
 public:
  // `fixed` (may be empty): per node, true where the search may not change the candidate.
  BudgetSearch(const CandidateSet& candidates, AssignmentPlanner& planner, const Measurements& measured,
               double max_slowdown, std::vector<bool> fixed = {});

  double predicted_error(const Assignment& a) const;
  double predicted_seconds(const Assignment& a);
  double exact_seconds() const { return exact_seconds_; }

  // The assignment of least predicted error whose step arena is at most `arena_budget` bytes (when one
  // is found; otherwise the smallest found, fits = false).
  // `known_small` (may be null): an assignment of small step found before (smallest()), tried before a
  // new search for the smallest when nothing else fits.
  SearchOutcome fit(size_t arena_budget, const Assignment& start, const Assignment* known_small = nullptr);
  // The smallest step arena the moves reach within max_slowdown, whatever the error.
  SearchOutcome smallest(const Assignment& start);

 private:
  struct Move {
    Assignment next;
    double d_error2 = 0, d_seconds = 0;
    size_t excess = 0, peak = 0;
  };
  // Bytes live above `target`, summed over the step's schedule.
  size_t excess_over(const Assignment& a, size_t target);
  std::vector<Move> moves(const Assignment& a, size_t target);
  SearchOutcome outcome(const Assignment& a, size_t budget);
  SearchOutcome fit_from(size_t budget, const Assignment& from);
  SearchOutcome fit_rounds(size_t budget, const Assignment& from);  // fit_from without the fallback
  SearchOutcome smallest_from(const Assignment& start);
  // Moves `a` until no more than `target` live bytes remain anywhere in the step; false when stuck.
  bool greedy(Assignment& a, size_t target);
  bool within_time(double seconds) const;
  // Where the searches start: `start`, and every uniform assignment with the fixed layers as in `start`.
  std::vector<Assignment> starts(const Assignment& start) const;

  const CandidateSet& candidates_;
  AssignmentPlanner& planner_;
  const Measurements& measured_;
  double max_slowdown_;
  std::vector<bool> fixed_;
  double exact_seconds_;
};

}  // namespace frugal
