// 2-D convolution through cuDNN (contracts: ops/cpu/conv_cpu.h), with the algorithms and workspace of
// each geometry's cached plan (conv_plan_cudnn.h), so a pass uses exactly the workspace its query
// reported. The bias gradient is the fixed-order channel sum of bias_gradient (bias_grad_cuda.cu), not
// cuDNN's, whose order is not specified.
#include <algorithm>

#include "ops/cuda/conv_plan_cudnn.h"
#include "ops/cuda/cudnn_context.h"
#include "ops/cuda/dense_kernels_cuda.h"

namespace frugal::cuda {
namespace {

Conv2dGeometry with_winograd(Conv2dGeometry g, bool on) {
  g.winograd = on;
  return g;
}

}  // namespace

// On CUDA, g.winograd lets the passes take cuDNN's fastest algorithms even when they need more workspace
// than the conv's largest activation (conv_plan_cudnn.h). It applies when that changes the algorithm of
// any pass: only then does turning it off save memory.
bool conv2d_winograd_applies(const Conv2dGeometry& g) {
  if (!g.winograd) return false;
  const ConvPlan& fast = conv_plan(g);
  const ConvPlan& small = conv_plan(with_winograd(g, false));
  return fast.forward != small.forward || fast.backward_data != small.backward_data ||
         fast.backward_filter != small.backward_filter;
}

size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g) { return conv_plan(g).forward_bytes; }

size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g) {
  const ConvPlan& p = conv_plan(g);
  return std::max(p.backward_data_bytes, p.backward_filter_bytes);  // the two passes share one buffer
}

void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                    float* workspace) {
  const ConvPlan& p = conv_plan(g);
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionForward(cudnn(), &one, p.x, x, p.w, w, p.conv, p.forward, workspace, p.forward_bytes, &zero,
                                p.y, y),
        "cudnnConvolutionForward");
  if (bias) check(cudnnAddTensor(cudnn(), &one, p.bias, bias, &one, p.y, y), "cudnnAddTensor (conv bias)");
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx, float* workspace) {
  const ConvPlan& p = conv_plan(g);
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionBackwardData(cudnn(), &one, p.w, w, p.y, dy, p.conv, p.backward_data, workspace,
                                     p.backward_data_bytes, &zero, p.x, dx),
        "cudnnConvolutionBackwardData");
}

void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* db,
                            float* workspace, bool accumulate) {
  const ConvPlan& p = conv_plan(g);
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  check(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, x, p.y, dy, p.conv, p.backward_filter, workspace,
                                       p.backward_filter_bytes, &beta, p.w, dw),
        "cudnnConvolutionBackwardFilter");
  if (db) bias_gradient(g.batch, g.out_channels, g.out_h() * g.out_w(), dy, db, accumulate);
}

}  // namespace frugal::cuda
