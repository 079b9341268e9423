#include "memory/arena_plan.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace frugal {

namespace {

const char* order_name(PlacementOrder order) {
  switch (order) {
    case PlacementOrder::BySize: return "by_size";
    case PlacementOrder::ByArea: return "by_area";
    case PlacementOrder::ByBreadth: return "by_breadth";
  }
  return "?";
}

const char* gap_name(GapChoice gap) { return gap == GapChoice::Lowest ? "lowest" : "smallest_gap"; }

size_t lifetime(const BufferSpec& b) { return static_cast<size_t>(b.last_use - b.first_use + 1); }

// Ties go to the earlier first use, then the lower id, so equal-sized buffers are placed in schedule
// order (which packs an interval graph of equal sizes optimally) and plans are deterministic.
bool earlier(const BufferSpec& a, const BufferSpec& b) {
  return a.first_use != b.first_use ? a.first_use < b.first_use : a.id < b.id;
}

std::vector<int32_t> placement_order(const StepDescription& step, PlacementOrder order) {
  const std::vector<BufferSpec>& bufs = step.buffers;
  std::vector<int32_t> ids(bufs.size());
  std::iota(ids.begin(), ids.end(), 0);
  auto by_size = [&](int32_t a, int32_t b) {
    const size_t sa = aligned_bytes(bufs[a].bytes), sb = aligned_bytes(bufs[b].bytes);
    return sa != sb ? sa > sb : earlier(bufs[a], bufs[b]);
  };
  if (order == PlacementOrder::BySize) {
    std::sort(ids.begin(), ids.end(), by_size);
  } else if (order == PlacementOrder::ByArea) {
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      const size_t aa = aligned_bytes(bufs[a].bytes) * lifetime(bufs[a]);
      const size_t ab = aligned_bytes(bufs[b].bytes) * lifetime(bufs[b]);
      return aa != ab ? aa > ab : by_size(a, b);
    });
  } else {
    // Times by live bytes, busiest first; each time contributes its not yet ordered buffers.
    const std::vector<CategoryBytes> live = live_bytes_by_category(step);
    std::vector<int32_t> times(live.size());
    std::iota(times.begin(), times.end(), 0);
    std::stable_sort(times.begin(), times.end(),
                     [&](int32_t a, int32_t b) { return total_bytes(live[a]) > total_bytes(live[b]); });
    std::vector<int32_t> by_size_ids = ids;
    std::sort(by_size_ids.begin(), by_size_ids.end(), by_size);
    std::vector<uint8_t> taken(bufs.size(), 0);
    ids.clear();
    for (int32_t t : times)
      for (int32_t id : by_size_ids)
        if (!taken[id] && bufs[id].first_use <= t && t <= bufs[id].last_use) {
          taken[id] = 1;
          ids.push_back(id);
        }
  }
  return ids;
}

struct Placed {
  size_t offset, end;  // [offset, end) in bytes
};

// Where a buffer of `size` goes among `conflicts` (placed buffers live at the same time, sorted by offset).
size_t choose_offset(const std::vector<Placed>& conflicts, size_t size, GapChoice gap) {
  size_t cursor = 0;  // first byte not covered by the conflicts seen so far
  size_t best = std::numeric_limits<size_t>::max(), best_gap = std::numeric_limits<size_t>::max();
  for (const Placed& p : conflicts) {
    if (p.offset >= cursor + size) {
      const size_t gap_bytes = p.offset - cursor;
      if (gap == GapChoice::Lowest) return cursor;
      if (gap_bytes < best_gap) {
        best_gap = gap_bytes;
        best = cursor;
      }
    }
    cursor = std::max(cursor, p.end);
  }
  return best != std::numeric_limits<size_t>::max() ? best : cursor;
}

}  // namespace

ArenaPlan plan_arena(const StepDescription& step, PlacementOrder order, GapChoice gap) {
  step.validate();
  const std::vector<BufferSpec>& bufs = step.buffers;
  ArenaPlan plan;
  plan.offsets.assign(bufs.size(), 0);
  plan.heuristic = std::string(order_name(order)) + "/" + gap_name(gap);
  std::vector<int32_t> placed_ids;
  std::vector<Placed> conflicts;
  for (int32_t id : placement_order(step, order)) {
    const BufferSpec& b = bufs[id];
    const size_t size = aligned_bytes(b.bytes);
    if (size == 0) continue;  // holds nothing; offset 0
    conflicts.clear();
    for (int32_t other : placed_ids) {
      const BufferSpec& o = bufs[other];
      if (o.first_use <= b.last_use && b.first_use <= o.last_use)
        conflicts.push_back({plan.offsets[other], plan.offsets[other] + aligned_bytes(o.bytes)});
    }
    std::sort(conflicts.begin(), conflicts.end(),
              [](const Placed& x, const Placed& y) { return x.offset < y.offset; });
    plan.offsets[id] = choose_offset(conflicts, size, gap);
    plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[id] + size);
    placed_ids.push_back(id);
  }
  return plan;
}

ArenaPlan plan_arena_best(const StepDescription& step) {
  ArenaPlan best;
  bool first = true;
  for (PlacementOrder order : {PlacementOrder::BySize, PlacementOrder::ByArea, PlacementOrder::ByBreadth})
    for (GapChoice gap : {GapChoice::Lowest, GapChoice::Smallest}) {
      ArenaPlan plan = plan_arena(step, order, gap);
      if (first || plan.arena_bytes < best.arena_bytes) best = std::move(plan);
      first = false;
    }
  return best;
}

}  // namespace frugal
