#include "ops/cpu/bias_grad.h"

#include <omp.h>

#include <algorithm>

namespace frugal {

namespace {

// Independent partial sums (pixel s of a run goes to lane s % kLanes, combined in a fixed order)
// let the adds pipeline and vectorise without reordering anything run to run.
constexpr int64_t kLanes = 8;
// Runs shorter than this (4x4 images: 16 floats) are summed as columns across the batch instead:
// one strided run per sample and channel wastes most of each cache line fetched around it.
constexpr int64_t kMinRunForLanes = 64;
constexpr int64_t kBlockColumns = 512;  // column sums per block: 4 KiB of doubles, in L1
// Below this many values a parallel region costs more than it saves (conv kernels call per sample).
constexpr int64_t kMinParallelValues = int64_t{1} << 16;

double channel_sum(int64_t batch, int64_t channels, int64_t spatial, const float* dy, int64_t c) {
  double lanes[kLanes] = {};
  for (int64_t n = 0; n < batch; ++n) {
    const float* run = dy + (n * channels + c) * spatial;
    int64_t s = 0;
    for (; s + kLanes <= spatial; s += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += run[s + l];
    for (int64_t l = 0; s < spatial; ++s, ++l) lanes[l] += run[s];
  }
  double sum = 0.0;
  for (double lane : lanes) sum += lane;
  return sum;
}

void store(double sum, bool accumulate, float* db) {
  *db = accumulate ? *db + static_cast<float>(sum) : static_cast<float>(sum);
}

}  // namespace

void bias_gradient_cpu(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db,
                       bool accumulate) {
  const bool parallel = !omp_in_parallel() && batch * channels * spatial >= kMinParallelValues;
  if (spatial >=
      kMinRunForLanes) {  // each channel's runs are long and contiguous: lanes per channel
#pragma omp parallel for schedule(static) if (parallel && channels > 1)
    for (int64_t c = 0; c < channels; ++c)
      store(channel_sum(batch, channels, spatial, dy, c), accumulate, db + c);
    return;
  }
  // Short runs (linear layers, small images): sum the columns of dy viewed as [batch,
  // channels*spatial], samples in order, in blocks of whole channels so the reads stay
  // row-contiguous and the adds vectorise across columns; then each channel adds its columns in
  // order.
  const int64_t block_channels = std::max<int64_t>(1, kBlockColumns / spatial);
  const int64_t row = channels * spatial;
#pragma omp parallel for schedule(static) if (parallel && channels > block_channels)
  for (int64_t c_begin = 0; c_begin < channels; c_begin += block_channels) {
    const int64_t width = std::min(block_channels, channels - c_begin) * spatial;
    double sums[kBlockColumns] = {};
    for (int64_t n = 0; n < batch; ++n) {
      const float* values = dy + n * row + c_begin * spatial;
      for (int64_t j = 0; j < width; ++j) sums[j] += values[j];
    }
    for (int64_t c = 0; c < width / spatial; ++c) {
      double sum = 0.0;
      for (int64_t s = 0; s < spatial; ++s) sum += sums[c * spatial + s];
      store(sum, accumulate, db + c_begin + c);
    }
  }
}

}  // namespace frugal
