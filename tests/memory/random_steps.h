// Random step descriptions for the property tests: fixed seeds, so every run checks the same cases.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/rng.h"
#include "memory/step_description.h"

namespace frugal {

struct RandomStepOptions {
  int32_t max_buffers = 120;
  int32_t max_times = 40;
  size_t max_bytes = size_t{1} << 16;  // sizes are log-uniform in [1, max_bytes]
  double large_fraction = 0.0;         // share of buffers of 1-4 MiB (the pool's large classes)
  double zero_fraction = 0.03;         // share of zero-byte buffers
  double persistent_fraction = 0.1;    // share spanning the whole step, like weights
};

inline StepDescription random_step(uint64_t seed, const RandomStepOptions& opt = {}) {
  RngSequence rng(rng_key(seed, RngStream::Test, 0));
  StepDescription step;
  const int32_t times = 1 + static_cast<int32_t>(rng.next_below(static_cast<uint32_t>(opt.max_times)));
  for (int32_t t = 0; t < times; ++t)
    step.schedule.push_back({"op" + std::to_string(t), t < times / 2 ? "forward" : "backward"});
  const int32_t n = 1 + static_cast<int32_t>(rng.next_below(static_cast<uint32_t>(opt.max_buffers)));
  for (int32_t id = 0; id < n; ++id) {
    BufferSpec b;
    b.id = id;
    b.owner = "buffer" + std::to_string(id);
    b.category = static_cast<MemoryCategory>(rng.next_below(kNumMemoryCategories));
    const float kind = rng.next_uniform();
    if (kind < opt.zero_fraction) {
      b.bytes = 0;
    } else if (kind < opt.zero_fraction + opt.large_fraction) {
      b.bytes = (size_t{1} << 20) + rng.next_below(3u << 20);
    } else {
      const double log_max = std::log(static_cast<double>(opt.max_bytes));
      b.bytes = std::max<size_t>(1, static_cast<size_t>(std::exp(rng.next_uniform() * log_max)));
    }
    if (rng.next_uniform() < opt.persistent_fraction) {
      b.first_use = 0;
      b.last_use = times - 1;
    } else {
      const int32_t a = static_cast<int32_t>(rng.next_below(static_cast<uint32_t>(times)));
      const int32_t c = static_cast<int32_t>(rng.next_below(static_cast<uint32_t>(times)));
      b.first_use = std::min(a, c);
      b.last_use = std::max(a, c);
    }
    step.buffers.push_back(b);
  }
  return step;
}

// A forward/backward chain shaped like a training step: weights and gradients for the whole step,
// each layer's output live until the next layer ran, its stash until its backward, and a workspace
// for one point. Sizes vary per layer like a CNN's (early layers large, later ones small).
inline StepDescription training_like_step(uint64_t seed, int32_t layers) {
  RngSequence rng(rng_key(seed, RngStream::Test, 1));
  StepDescription step;
  const int32_t times = 2 * layers + 1;
  for (int32_t l = 0; l < layers; ++l) step.schedule.push_back({"layer" + std::to_string(l), "forward"});
  for (int32_t l = layers; l-- > 0;) step.schedule.push_back({"layer" + std::to_string(l), "backward"});
  step.schedule.push_back({"sgd", "optimizer"});
  auto add = [&](size_t bytes, MemoryCategory c, int32_t first, int32_t last, const std::string& owner,
                 const std::string& layer) {
    step.buffers.push_back({static_cast<int32_t>(step.buffers.size()), bytes, c, first, last, owner, layer});
  };
  for (int32_t l = 0; l < layers; ++l) {
    const std::string name = "layer" + std::to_string(l);
    const size_t act = (size_t{64} << 10) * (1 + rng.next_below(8)) * (layers - l);
    const size_t params = (size_t{4} << 10) * (1 + rng.next_below(16)) * (l + 1);
    const int32_t backward = 2 * layers - 1 - l;  // time of this layer's backward
    add(params, MemoryCategory::Weights, 0, times - 1, name + ".weight", name);
    add(params, MemoryCategory::Gradients, 0, times - 1, name + ".weight.grad", name);
    add(act, MemoryCategory::Activations, l, std::min(l + 1, layers - 1), name + "/output", name);
    add(act / (1 + rng.next_below(4)), MemoryCategory::Stash, l, backward, name + "/stash", name);
    add(act / 2, MemoryCategory::Workspace, backward, backward, name + "/workspace", name);
    add(act, MemoryCategory::Activations, backward, std::min(backward + 1, 2 * layers - 1),
        name + "/grad_input", name);
  }
  return step;
}

}  // namespace frugal
