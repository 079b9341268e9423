// Fixed random feedback matrices shared by feedback alignment (fa) and direct feedback alignment (dfa).
// They are regenerated from (seed, Feedback stream, layer index) whenever they are needed, so the same
// matrix comes back every step without being stored (fills: ops/feedback_fill.h, cheap enough
// that regenerating costs less than the GEMM that reads the matrix).
//
// Entries: uniform U(-1, 1) or gaussian N(0, 1), times feedback_scale / sqrt(n), where n is the
// fan-in the matrix serves (fa: the layer's fan-in, so uniform feedback is distributed exactly like
// PyTorch's default weight init; dfa: the features of the injection point, as TinyDFA's P = e·D/sqrt(n)).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "ops/layer.h"

namespace frugal {

enum class FeedbackDistribution { Uniform, Gaussian };

struct FeedbackOptions {
  FeedbackDistribution distribution = FeedbackDistribution::Uniform;
  float scale = 1.0f;  // feedback_scale
  std::string describe() const;  // e.g. "uniform, scale=1"
};

// Reads feedback_distribution and feedback_scale from a mode's config entry. Any knob outside
// `allowed` (besides "mode" and "match") is a ConfigError naming the knob, its value, the mode and
// the layer, and so is a bad value.
FeedbackOptions parse_feedback_options(const nlohmann::json& entry, const std::string& mode, const Layer& layer,
                                       const std::vector<std::string>& allowed);

// Fills out[0..count) (memory of `kernels`' device) with the feedback entries for `key`, scaled by
// options.scale / sqrt(fan_in).
void fill_feedback(const Kernels& kernels, const FeedbackOptions& options, const RngKey& key, int64_t fan_in,
                   float* out, int64_t count);

// The key of layer `layer_index`'s feedback matrix (fixed across steps).
inline RngKey feedback_key(uint64_t seed, int layer_index) {
  return rng_key(seed, RngStream::Feedback, static_cast<uint64_t>(layer_index));
}

// Workspace offsets are kept 64-byte aligned, like the planner's buffers.
inline size_t align_floats(size_t floats) { return (floats + 15) / 16 * 16; }

}  // namespace frugal
