// How a convolution geometry runs on cuDNN: its descriptors and, for each pass, the algorithm and the
// exact workspace it needs. Chosen once per (geometry, winograd flag, determinism setting) and cached,
// so the *_workspace_bytes queries the planner sizes buffers with and the passes that use the buffers
// always agree.
//
// The choice: cuDNN's heuristics (cudnnGetConvolution*Algorithm_v7) rank the algorithms by expected
// speed; the first one that is supported in float32 without tensor-op math (no TF32: cuDNN's FMA math),
// deterministic unless cuda::set_deterministic(false), and within the workspace limit wins.
//  - g.winograd off: the limit is the larger of the conv's input and output (a workspace no bigger than
//    an activation the step holds anyway); if no algorithm fits, the one needing the least workspace.
//  - g.winograd on: the limit is kFastWorkspaceLimit, so the fastest algorithm may take more workspace
//    (cuDNN's Winograd, FFT and precomputed-GEMM variants). conv2d_winograd_applies(g) says whether
//    that changes any pass's algorithm, i.e. whether turning g.winograd off would save workspace
//    (training/conv_algorithms.h does so where it raises a step's peak).
#pragma once
#include <cudnn.h>

#include <cstddef>

#include "ops/conv_geometry.h"

namespace frugal::cuda {

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;  // bias: [1, O, 1, 1]
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t forward{};
  cudnnConvolutionBwdDataAlgo_t backward_data{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter{};
  size_t forward_bytes = 0, backward_data_bytes = 0, backward_filter_bytes = 0;
};

// The cached plan of g under the current determinism setting (chosen on first use).
const ConvPlan& conv_plan(const Conv2dGeometry& g);

}  // namespace frugal::cuda
