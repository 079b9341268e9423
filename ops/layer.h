// A layer: an op definition with parameters. It knows its shape inference, FLOP count, forward, and an
// exact backward; layers whose backward splits into reusable pieces (backward-data, backward-weight,
// activation derivative) expose them through the narrower interfaces below, so backward modes are built
// from the pieces and never need new kernels.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/parameter.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "ops/kernels.h"

namespace frugal {

// An extra tensor a layer's forward writes for its own backward (max-pool argmax, BN statistics,
// dropout mask, softmax probabilities).
struct AuxSpec {
  std::string name;
  Shape shape;
  DType dtype = DType::F32;
  size_t bytes() const { return static_cast<size_t>(shape.numel()) * dtype_size(dtype); }
};

// What the exact backward of a layer reads from its forward.
struct SavedNeeds {
  std::vector<bool> inputs;  // per input: the forward input tensor
  bool output = false;       // the forward output tensor
  std::vector<AuxSpec> aux;
};

struct ForwardArgs {
  std::vector<const Tensor*> inputs;
  Tensor* output = nullptr;
  std::vector<Tensor*> aux;         // as in saved_needs().aux; empty when nothing will run backward
  float* workspace = nullptr;       // forward_workspace_bytes() of scratch
  bool training = true;             // batch statistics, dropout
  bool update_running_stats = true; // BN: false on a recomputing forward (MEM-DFA's second pass)
  RngKey rng;                       // dropout masks
};

struct BackwardArgs {
  std::vector<const Tensor*> inputs;  // forward inputs (or reconstructions); null when not kept
  const Tensor* output = nullptr;     // forward output (or reconstruction); null when not kept
  std::vector<const Tensor*> aux;
  const Tensor* grad_output = nullptr;
  std::vector<Tensor*> grad_inputs;   // null where no gradient is needed (e.g. the network input)
  float* workspace = nullptr;         // backward_workspace_bytes() of scratch
  // dLoss/dlogits of this step, for modes that send the output error straight to hidden layers (DFA).
  const Tensor* network_output_grad = nullptr;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;  // "Conv2d", "ReLU", ...
  virtual int arity() const { return 1; }

  // Binds the layer to its input shapes (batch included) and returns the output shape. Throws
  // ShapeError naming the layer and the shapes when they do not fit.
  virtual Shape setup(const std::vector<Shape>& inputs) = 0;
  const Shape& output_shape() const { return output_shape_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

  virtual std::vector<Parameter*> parameters() { return {}; }
  // Where the parameters live and the passes run; kernels() is that device's backend. Layers are built
  // on the CPU (initialisation is host code) and moved with to_device().
  Device device() const { return device_; }
  const Kernels& kernels() const { return kernels_for(device_); }
  // Moves every parameter (value and gradient) to `device`.
  void to_device(Device device);
  virtual int64_t forward_flops() const { return 0; }
  virtual size_t forward_workspace_bytes() const { return 0; }
  virtual size_t backward_workspace_bytes() const { return 0; }
  virtual SavedNeeds saved_needs() const = 0;

  virtual void forward(const ForwardArgs& args) = 0;
  // Exact backward: writes grad_inputs (overwriting) and the parameter gradients (overwriting, or adding
  // to them while accumulate_param_grads() is set).
  virtual void backward(const BackwardArgs& args) = 0;

  // Gradient accumulation over the micro-batches of one step (docs/memory_budget.md, "Micro-batches"):
  // while set, every pass of this layer that writes parameter gradients (backward, backward_weight,
  // backward_bias, BatchNorm's backward_from_normalized) adds to them instead of overwriting, where
  // can_accumulate_param_grads() says so. Layers that cannot leave it to the step, which saves and adds
  // their gradients around the pass.
  virtual bool can_accumulate_param_grads() const { return false; }
  void set_accumulate_param_grads(bool on) { accumulate_param_grads_ = on; }
  bool accumulate_param_grads() const { return accumulate_param_grads_; }

 protected:
  // Helper for setup(): records the shapes after the arity check.
  void bind(const std::vector<Shape>& inputs, const Shape& output);
  std::string where() const { return std::string(kind()) + " '" + name_ + "'"; }

 private:
  std::string name_;
  Device device_ = Device::CPU;
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
  bool accumulate_param_grads_ = false;
};

// Conv2d and Linear: y = x * W (+ b). Feedback alignment and the weight-gradient estimators use these.
class WeightedLayer : public Layer {
 public:
  using Layer::Layer;
  virtual Parameter& weight() = 0;
  virtual Parameter* bias() = 0;  // null when the layer has none
  // dx from dy through `weight` (the layer's own weight for exact backprop, a fixed random matrix of
  // the same shape for feedback alignment).
  virtual void backward_data(const Tensor& grad_output, const Tensor& weight, Tensor& grad_input,
                             float* workspace) = 0;
  // dW (and db) from the forward input and dy; overwrites the gradients.
  virtual void backward_weight(const Tensor& input, const Tensor& grad_output, float* workspace) = 0;
  // Only the bias gradient (modes that estimate dW but keep db exact).
  virtual void backward_bias(const Tensor& grad_output) = 0;

  // The weight gradient handed on in pieces of whole rows (output features) as soon as each is computed:
  // data parallelism reduces one piece while the next is computed, and ZeRO-2 never holds the whole
  // gradient (training/distributed/flat_parameters.h). While set, backward_weight() writes rows
  // [row_bounds[i], row_bounds[i+1]) of dW, row-major, overwriting, to destination(i) and then calls
  // done(i), for i = 0, 1, ... in order, instead of writing weight().grad; the bias gradient still goes
  // to bias()->grad, after the last piece. Each piece is the same product as the whole gradient's, on
  // fewer rows. Only where can_split_weight_gradient(), and never while accumulate_param_grads() is set.
  struct GradientPieces {
    std::vector<int64_t> row_bounds;  // 0 = b0 < b1 < ... < bm = weight().value.dim(0)
    std::function<float*(int)> destination;
    std::function<void(int)> done;
  };
  virtual bool can_split_weight_gradient() const { return false; }
  void set_weight_gradient_pieces(const GradientPieces* pieces) { pieces_ = pieces; }

 protected:
  const GradientPieces* pieces_ = nullptr;  // not owned
};

// Layers that can fold the ReLU reading their output into their own passes (BatchNorm, Add), so the
// unrectified output y and its gradient are never stored. The executor decides when to fold (the ReLU is
// the only reader of y and both backward passes are exact); the result is bit-identical to running the
// two layers.
class ReluFoldable {
 public:
  virtual ~ReluFoldable() = default;
  // As forward(), writing relu(y) to args.output.
  virtual void forward_relu(const ForwardArgs& args) = 0;
  // As backward(), with args.grad_output the gradient of relu(y); args.output is relu(y) when
  // backward_relu_reads_output() (otherwise the layer finds the mask from what it keeps itself). Any
  // grad_inputs[k] may be args.grad_output itself (written in place, element by element).
  virtual void backward_relu(const BackwardArgs& args) = 0;
  virtual bool backward_relu_reads_output() const = 0;
};

}  // namespace frugal
