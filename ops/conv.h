// Conv2d layer: weight [O, C/groups, KH, KW] (OIHW), optional bias [O]; NCHW input.
#pragma once
#include "ops/conv_geometry.h"
#include "ops/layer.h"

namespace frugal {

struct Conv2dOptions {
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_h = 3, kernel_w = 3;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

class Conv2d : public WeightedLayer {
 public:
  Conv2d(std::string name, const Conv2dOptions& opts, const RngKey& init_key);
  const char* kind() const override { return "Conv2d"; }
  Shape setup(const std::vector<Shape>& inputs) override;
  std::vector<Parameter*> parameters() override;
  int64_t forward_flops() const override { return conv2d_forward_flops(geometry_); }
  size_t forward_workspace_bytes() const override;
  size_t backward_workspace_bytes() const override;
  SavedNeeds saved_needs() const override { return {{true}, false, {}}; }
  void forward(const ForwardArgs& args) override;
  void backward(const BackwardArgs& args) override;
  bool can_accumulate_param_grads() const override { return true; }

  Parameter& weight() override { return weight_; }
  Parameter* bias() override { return opts_.bias ? &bias_ : nullptr; }
  void backward_data(const Tensor& grad_output, const Tensor& weight, Tensor& grad_input,
                     float* workspace) override;
  void backward_weight(const Tensor& input, const Tensor& grad_output, float* workspace) override;
  void backward_bias(const Tensor& grad_output) override;

  const Conv2dOptions& options() const { return opts_; }
  // Whether the passes may take the Winograd kernels (on by default; they need more workspace).
  void set_winograd(bool on);
  // Whether the passes take Winograd (CPU) or another algorithm that needs more workspace (CUDA).
  bool uses_winograd() const { return kernels().conv2d_winograd_applies(geometry_); }
  const Conv2dGeometry& geometry() const { return geometry_; }

 private:
  Conv2dOptions opts_;
  Conv2dGeometry geometry_{};
  bool winograd_ = true;
  Parameter weight_, bias_;
  // The CPU kernels' workspace sizes for geometry_, computed on first use after setup: the budget
  // search plans the step thousands of times (docs/memory_budget.md, "How the choice is made"), and
  // working them out builds a direct-conv plan each time. Not kept on CUDA, where they also follow the
  // determinism setting in force when first asked.
  static constexpr size_t kUnknown = ~size_t{0};
  mutable size_t cpu_forward_workspace_ = kUnknown, cpu_backward_workspace_ = kUnknown;
};

}  // namespace frugal
