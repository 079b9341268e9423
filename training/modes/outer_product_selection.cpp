#include "training/modes/outer_product_selection.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

const char* sampling_policy_name(SamplingPolicy policy) {
  switch (policy) {
    case SamplingPolicy::TopK: return "topk";
    case SamplingPolicy::Weighted: return "weighted";
    case SamplingPolicy::Random: return "random";
  }
  return "?";
}

void select_rows(SamplingPolicy policy, const std::vector<double>& scores, int64_t k, const RngKey& key,
                 std::vector<int64_t>& chosen, std::vector<int64_t>& order) {
  const int64_t n = static_cast<int64_t>(scores.size());
  FRUGAL_CHECK(k >= 0 && k <= n, InternalError,
               "select_rows: cannot choose " + std::to_string(k) + " of " + std::to_string(n) + " rows");
  order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  RngSequence rng(key);
  switch (policy) {
    case SamplingPolicy::TopK:
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
      });
      break;
    case SamplingPolicy::Random:
      // Partial Fisher-Yates: order[0, k) becomes a uniform k-subset.
      for (int64_t i = 0; i < k; ++i)
        std::swap(order[i], order[i + rng.next_below(static_cast<uint32_t>(n - i))]);
      break;
    case SamplingPolicy::Weighted: {
      // Sequential draws; order[i, n) are the rows still available. Sums in double, in index order.
      for (int64_t i = 0; i < k; ++i) {
        double total = 0;
        for (int64_t j = i; j < n; ++j) total += scores[order[j]];
        int64_t pick = i + rng.next_below(static_cast<uint32_t>(n - i));  // all remaining scores are zero
        if (total > 0) {
          const double target = rng.next_uniform() * total;
          double running = 0;
          pick = -1;
          for (int64_t j = i; j < n && pick < 0; ++j) {
            running += scores[order[j]];
            if (running > target && scores[order[j]] > 0) pick = j;
          }
          if (pick < 0)  // rounding pushed the target past the last positive score
            for (int64_t j = n - 1; j >= i && pick < 0; --j)
              if (scores[order[j]] > 0) pick = j;
        }
        std::swap(order[i], order[pick]);
      }
      break;
    }
  }
  chosen.assign(order.begin(), order.begin() + k);
  std::sort(chosen.begin(), chosen.end());
}

}  // namespace frugal
