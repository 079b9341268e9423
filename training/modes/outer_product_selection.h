// Which K of the B per-sample outer products the outer_product mode applies (Mem-AOP-GD,
// docs/algorithms.md §5). Scores are s_b = (|A_b| |G_b|)^2, the squared Frobenius norm of row b's
// outer product G_b A_b^T.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace frugal {

enum class SamplingPolicy {
  TopK,      // the K largest scores (ties: lower index first)
  Weighted,  // K draws without replacement with probability proportional to the score, no reweighting;
             // once the non-zero scores run out, the rest uniformly among the zero-score rows
  Random,    // K rows uniformly without replacement
};

const char* sampling_policy_name(SamplingPolicy policy);

// Chooses k of scores.size() rows; returns them in increasing order in `chosen` (resized to k, which
// must not exceed the row count). `key` draws the random policies; TopK ignores it. `order` is scratch
// reused across calls, so steady-state calls do not allocate.
void select_rows(SamplingPolicy policy, const std::vector<double>& scores, int64_t k, const RngKey& key,
                 std::vector<int64_t>& chosen, std::vector<int64_t>& order);

}  // namespace frugal
