// Shared by the executor-level tests: exact modes for every node and a reproducible random batch.
#pragma once
#include <memory>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "training/graph.h"
#include "training/modes/exact.h"

namespace frugal::test {

inline std::vector<std::unique_ptr<BackwardMode>> exact_modes(const Graph& g) {
  std::vector<std::unique_ptr<BackwardMode>> m;
  for (int i = 0; i < g.size(); ++i) m.push_back(std::make_unique<ExactMode>());
  return m;
}

struct Batch {
  Tensor images, labels;
};

// Standard normal images of `sample` shape; labels (i * label_step + seed) % classes.
inline Batch random_batch(int64_t n, const Shape& sample, int64_t classes, uint64_t seed, int64_t label_step = 3) {
  std::vector<int64_t> dims{n};
  for (int64_t d : sample.to_vector()) dims.push_back(d);
  Batch b{Tensor::empty(Shape(dims)), Tensor::empty({n}, DType::I32)};
  rng_normal(rng_key(seed, RngStream::Test, 1), b.images.f32(), b.images.numel());
  for (int64_t i = 0; i < n; ++i)
    b.labels.data<int32_t>()[i] = static_cast<int32_t>((i * label_step + static_cast<int64_t>(seed)) % classes);
  return b;
}

}  // namespace frugal::test
