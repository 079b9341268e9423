#include "ops/cuda/conv_plan_cudnn.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "ops/cuda/conv_algorithms.h"
#include "ops/cuda/cudnn_context.h"

namespace frugal::cuda {
namespace {

// With g.winograd on, no single conv takes more workspace than this, whatever cuDNN ranks first.
constexpr size_t kFastWorkspaceLimit = size_t{1} << 30;

std::atomic<bool> deterministic_algorithms{true};

using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, bool, bool>;

PlanKey key_of(const Conv2dGeometry& g, bool deterministic) {
  return {g.batch,    g.in_channels, g.in_h,  g.in_w,       g.out_channels, g.kernel_h, g.kernel_w, g.stride_h,
          g.stride_w, g.pad_h,       g.pad_w, g.dilation_h, g.dilation_w,   g.groups,   g.winograd, deterministic};
}

std::string describe(const Conv2dGeometry& g) {
  return "conv [N=" + std::to_string(g.batch) + ", C=" + std::to_string(g.in_channels) + ", " + std::to_string(g.in_h) +
         "x" + std::to_string(g.in_w) + "] -> O=" + std::to_string(g.out_channels) + ", " + std::to_string(g.kernel_h) +
         "x" + std::to_string(g.kernel_w) + " kernel, stride " + std::to_string(g.stride_h) + "x" +
         std::to_string(g.stride_w) + ", pad " + std::to_string(g.pad_h) + "x" + std::to_string(g.pad_w) +
         ", dilation " + std::to_string(g.dilation_h) + "x" + std::to_string(g.dilation_w) + ", groups " +
         std::to_string(g.groups);
}

int as_int(int64_t v, const Conv2dGeometry& g) {
  FRUGAL_CHECK(v >= 0 && v <= INT_MAX, ShapeError,
               "cuDNN takes int sizes; " + describe(g) + " has one of " + std::to_string(v));
  return static_cast<int>(v);
}

// Heuristic results in cuDNN's order of expected speed; `workspace(algo, &bytes)` asks cuDNN for the
// exact bytes of an algorithm under the plan's (FMA-math) descriptors. Returns the first acceptable
// algorithm within `limit`, or, when none fits, the acceptable one needing the least workspace.
template <class Perf, class Algo, class Workspace>
void choose(const std::vector<Perf>& ranked, size_t limit, bool deterministic, const Workspace& workspace,
            const Conv2dGeometry& g, const char* pass, Algo& algo, size_t& bytes) {
  bool found_any = false;
  Algo smallest{};
  size_t smallest_bytes = 0;
  for (const Perf& p : ranked) {
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    if (deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
    if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;  // TF32
    size_t need = 0;
    if (workspace(p.algo, &need) != CUDNN_STATUS_SUCCESS) continue;  // not available under FMA math
    if (need <= limit) {
      algo = p.algo;
      bytes = need;
      return;
    }
    if (!found_any || need < smallest_bytes) {
      found_any = true;
      smallest = p.algo;
      smallest_bytes = need;
    }
  }
  FRUGAL_CHECK(
      found_any, Error,
      std::string("cuDNN offers no ") + (deterministic ? "deterministic " : "") + "float32 " + pass +
          " algorithm for " + describe(g) +
          (deterministic ? " (non-deterministic algorithms are allowed when the determinism switch is off)" : ""));
  algo = smallest;
  bytes = smallest_bytes;
}

ConvPlan make_plan(const Conv2dGeometry& g, bool deterministic) {
  cudnnHandle_t h = cudnn();
  ConvPlan p;
  const int n = as_int(g.batch, g), c = as_int(g.in_channels, g), o = as_int(g.out_channels, g);
  const int groups = as_int(g.groups, g);
  check(cudnnCreateTensorDescriptor(&p.x), "cudnnCreateTensorDescriptor");
  check(cudnnCreateTensorDescriptor(&p.y), "cudnnCreateTensorDescriptor");
  check(cudnnCreateTensorDescriptor(&p.bias), "cudnnCreateTensorDescriptor");
  check(cudnnCreateFilterDescriptor(&p.w), "cudnnCreateFilterDescriptor");
  check(cudnnCreateConvolutionDescriptor(&p.conv), "cudnnCreateConvolutionDescriptor");
  check(
      cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, as_int(g.in_h, g), as_int(g.in_w, g)),
      "cudnnSetTensor4dDescriptor (input)");
  check(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, o, as_int(g.out_h(), g),
                                   as_int(g.out_w(), g)),
        "cudnnSetTensor4dDescriptor (output)");
  check(cudnnSetTensor4dDescriptor(p.bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, o, 1, 1),
        "cudnnSetTensor4dDescriptor (bias)");
  check(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, o, c / groups, as_int(g.kernel_h, g),
                                   as_int(g.kernel_w, g)),
        "cudnnSetFilter4dDescriptor");
  // PyTorch's conv2d is a cross-correlation.
  check(cudnnSetConvolution2dDescriptor(p.conv, as_int(g.pad_h, g), as_int(g.pad_w, g), as_int(g.stride_h, g),
                                        as_int(g.stride_w, g), as_int(g.dilation_h, g), as_int(g.dilation_w, g),
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(p.conv, groups), "cudnnSetConvolutionGroupCount");
  // FMA math: no TF32 tensor cores, whose 10-bit mantissas would break the float32 tolerances.
  check(cudnnSetConvolutionMathType(p.conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");

  const size_t x_bytes = static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w) * sizeof(float);
  const size_t y_bytes = static_cast<size_t>(g.batch * g.out_channels * g.out_h() * g.out_w()) * sizeof(float);
  const size_t limit = g.winograd ? kFastWorkspaceLimit : std::max(x_bytes, y_bytes);

  int count = 0, returned = 0;
  check(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count), "cudnnGetConvolutionForwardAlgorithmMaxCount");
  std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(static_cast<size_t>(count));
  check(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, count, &returned, fwd.data()),
        "cudnnGetConvolutionForwardAlgorithm_v7");
  fwd.resize(static_cast<size_t>(returned));
  choose(
      fwd, limit, deterministic,
      [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, a, bytes);
      },
      g, "forward", p.forward, p.forward_bytes);

  check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count),
        "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> data(static_cast<size_t>(count));
  check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x, count, &returned, data.data()),
        "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  data.resize(static_cast<size_t>(returned));
  choose(
      data, limit, deterministic,
      [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, a, bytes);
      },
      g, "backward-data", p.backward_data, p.backward_data_bytes);

  check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count),
        "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
  std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> filter(static_cast<size_t>(count));
  check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, count, &returned, filter.data()),
        "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  filter.resize(static_cast<size_t>(returned));
  choose(
      filter, limit, deterministic,
      [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, a, bytes);
      },
      g, "backward-filter", p.backward_filter, p.backward_filter_bytes);
  return p;
}

}  // namespace

void set_deterministic(bool on) { deterministic_algorithms.store(on); }
bool deterministic() { return deterministic_algorithms.load(); }

const ConvPlan& conv_plan(const Conv2dGeometry& g) {
  static std::mutex mutex;
  static std::map<PlanKey, ConvPlan> plans;  // never erased: references stay valid; descriptors live on
  const bool det = deterministic();
  std::lock_guard<std::mutex> lock(mutex);
  const PlanKey key = key_of(g, det);
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(g, det)).first;
  return it->second;
}

}  // namespace frugal::cuda
