// Runs training and evaluation steps of a graph on memory placed by a planner (through a StepRuntime,
// on the graph's device). Each node's backward goes through its BackwardMode; the executor never branches
// on mode names or devices.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "memory/planner.h"
#include "memory/profiler.h"
#include "ops/loss.h"
#include "training/arena_sharing.h"
#include "training/graph.h"
#include "training/modes/backward_mode.h"
#include "training/step_plan.h"
#include "training/step_runtime.h"

namespace frugal {

// Seconds spent per node, summed over the steps run while timing was on. `backward_weight` is the part
// of `backward` its mode reported as weight gradients (0 where the mode does not split its backward).
struct NodeTiming {
  double forward = 0, backward = 0, backward_weight = 0;
  double recompute = 0;  // forward re-runs for recompute-mode nodes (training/modes/recompute.h)
  double backward_data() const { return backward - backward_weight; }
};

struct StepResult {
  float loss = 0;
  int64_t correct = 0;
  int64_t samples = 0;
};

class Executor {
 public:
  // `modes`: one per node of `graph`. `planner_name`: "naive", "pool" or "static". Steps run on the
  // graph's device (Graph::to_device before this).
  Executor(Graph& graph, std::vector<std::unique_ptr<BackwardMode>> modes, const std::string& planner_name,
           int64_t num_classes, float label_smoothing = 0.0f);

  // Forward, loss and backward on one batch: afterwards every trainable parameter's .grad holds the
  // gradient of the mean loss. `step` and `seed` key the random numbers (dropout). With several
  // micro-batches the batch runs as that many forward+backward passes over consecutive slices, the
  // parameter gradients added up over them (docs/memory_budget.md, "Micro-batches"); the loss is the
  // mean over the passes and the hook below runs in the last pass only.
  StepResult train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed);

  // train.micro_batches: the passes a training step is split into (1: the whole batch at once). The
  // training step is planned for batch / k samples. Re-plans.
  void set_micro_batches(int k);
  int micro_batches() const { return micro_batches_; }
  // The samples of one pass of a training step over `batch`; ConfigError when k does not divide it.
  int64_t micro_batch(int64_t batch) const;
  // Forward in evaluation mode (running BN statistics, no dropout) and the loss.
  StepResult evaluate(const Tensor& images, const Tensor& labels);
  // The logits of the last train_step/evaluate are only valid until the next call.

  // Folding ReLUs into the BatchNorm/Add before them (training/relu_folding.h) is on by default; it
  // never changes a result, so turning it off is for comparisons (tests, benchmarks). Re-plans.
  void set_relu_folding(bool on);

  // In the current training plan: the node a ReLU is folded into (its passes run there), or -1.
  int relu_folded_into(int node) const {
    return train_.runtime.reserved() ? train_.plan.nodes.at(node).folded_into : -1;
  }

  // Plans (or re-plans) a training step over `batch` samples without running it (its plan is for
  // micro_batch(batch) samples).
  const StepPlan& training_plan(int64_t batch);
  // With the static planner and a planned training step, evaluation runs in the training arena
  // (training/arena_sharing.h): the largest batch up to `wanted` whose evaluation step fits there.
  // Otherwise `wanted` (evaluation then takes memory of its own).
  int64_t evaluation_batch(int64_t wanted);
  // Memory evaluation at `batch` (split as evaluation_batch says) needs outside the training arena: 0
  // when it runs inside.
  size_t evaluation_bytes(int64_t batch);
  // Whether the last evaluate() ran in the training arena.
  bool evaluation_shares_training_arena() const { return last_eval_shared_; }
  const Planner& evaluation_planner() const {
    return last_eval_shared_ ? eval_shared_.runtime.planner() : eval_.runtime.planner();
  }
  const Planner& training_planner() const { return train_.runtime.planner(); }
  // Every acquire and release of the last training step, as it happened.
  const MemoryProfiler& training_profile() const { return train_.runtime.profile(); }

  // Called in a training step right after node `node`'s backward, when its parameter gradients are
  // final (data-parallel reduction starts there). Empty: nothing is called.
  using NodeHook = std::function<void(int node)>;
  void set_after_backward(NodeHook hook) { after_backward_ = std::move(hook); }
  BackwardMode& mode(int node) { return *modes_.at(node); }
  Graph& graph() { return graph_; }
  uint64_t planner_system_allocations() const;
  // Per-node wall time of forward and backward (and the loss) in training steps, for `profile --time`.
  // Restarts the sums.
  void set_timing(bool on);
  const std::vector<NodeTiming>& node_timings() const { return timings_; }
  double loss_seconds() const { return loss_seconds_; }

 private:
  struct Prepared {
    Prepared(const std::string& planner_name, Device device, Allocator* memory = nullptr)
        : runtime(planner_name, device, memory) {}
    StepRuntime runtime;
    StepPlan plan;
  };
  void prepare(Prepared& p, int64_t batch, bool training);
  // The evaluation step for `batch`: in the training arena when it fits there, else on its own.
  Prepared& prepare_evaluation(int64_t batch);
  void setup_for(int64_t batch);
  // The value node `v` produced (or the network input for Graph::kInput).
  Tensor& value(Prepared& p, int v) {
    return p.runtime.tensor(v == Graph::kInput ? p.plan.input : p.plan.nodes[v].output);
  }
  void forward_node(Prepared& p, int node, bool training, uint64_t step, uint64_t seed, int micro = 0);
  // `accumulate`: add the parameter gradients to what earlier micro-batches left there.
  void backward_node(Prepared& p, int node, bool accumulate);
  void recompute_node(Prepared& p, const RecomputedNode& rn, uint64_t step, uint64_t seed, int micro);
  StepResult loss_and_grad(Prepared& p, const Tensor& labels, bool training);
  // One forward+backward pass over the planned batch; `micro` is its index among the step's passes.
  StepResult train_pass(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed, int micro);
  void load_batch(Prepared& p, const Tensor& images, const Tensor& labels);

  Graph& graph_;
  std::vector<std::unique_ptr<BackwardMode>> modes_;
  std::string planner_name_;
  int64_t num_classes_;
  SoftmaxCrossEntropy loss_;
  std::unique_ptr<ArenaLender> lender_;      // static planner only: the training arena's block
  std::unique_ptr<ArenaBorrower> borrower_;
  Prepared train_, eval_, eval_shared_;      // eval_shared_ plans into the training arena
  uint64_t eval_shared_generation_ = 0;
  bool last_eval_shared_ = false;
  NodeHook after_backward_;
  bool fold_relus_ = true;
  int micro_batches_ = 1;
  bool timing_ = false;
  std::vector<NodeTiming> timings_;
  double loss_seconds_ = 0;
};

}  // namespace frugal
