// The bias gradient of conv and linear layers: per-channel sums of dy over the batch and the
// pixels.
#pragma once
#include <cstdint>

namespace frugal {

// db[c] (+)= sum of dy[n, c, s] over n < batch, s < spatial, for dy [batch, channels, spatial] (a
// conv's [N, O, OH*OW], or a linear layer's [N, O] with spatial 1). accumulate=false overwrites db.
// Sums run in double in an order fixed by the shape alone, so results are bit-identical whatever
// the thread count.
void bias_gradient_cpu(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db,
                       bool accumulate);

}  // namespace frugal
