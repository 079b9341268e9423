// Offsets of a step's buffers in one arena, computed from sizes and lifetimes alone (TensorFlow Lite's
// arena planner; Pisarchyk & Lee, "Efficient Memory Management for Deep Neural Net Inference", 2020).
// Buffers are placed one at a time, in an order set by a heuristic, at a position that overlaps no
// already placed buffer whose lifetime intersects theirs. Several heuristics are tried and the
// smallest arena kept. A pure function: the static planner and the tests call it directly.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "memory/step_description.h"

namespace frugal {

enum class PlacementOrder {
  BySize,     // largest first (TFLite's greedy by size)
  ByArea,     // largest size x lifetime first
  ByBreadth,  // busiest time first, then its buffers largest first (greedy by breadth)
};

enum class GapChoice {
  Lowest,    // the lowest offset that fits
  Smallest,  // the smallest gap that fits (TFLite's best fit), else the end
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // by buffer id; multiples of kTensorAlignment
  size_t arena_bytes = 0;       // max over buffers of offset + aligned size
  std::string heuristic;        // e.g. "by_size/lowest"
};

ArenaPlan plan_arena(const StepDescription& step, PlacementOrder order, GapChoice gap);
// Every (order, gap) combination; the smallest arena wins, ties to the first in declaration order.
ArenaPlan plan_arena_best(const StepDescription& step);

}  // namespace frugal
