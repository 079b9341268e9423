#include "training/executor.h"

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "memory/arena_plan.h"
#include "training/conv_algorithms.h"

namespace frugal {

Executor::Executor(Graph& graph, std::vector<std::unique_ptr<BackwardMode>> modes,
                   const std::string& planner_name, int64_t num_classes, float label_smoothing)
    : graph_(graph),
      modes_(std::move(modes)),
      planner_name_(planner_name),
      num_classes_(num_classes),
      loss_(label_smoothing),
      lender_(planner_name == "static" ? std::make_unique<ArenaLender>(device_runtime(graph.device()).allocator())
                                       : nullptr),
      borrower_(lender_ ? std::make_unique<ArenaBorrower>(*lender_) : nullptr),
      train_(planner_name, graph.device(), lender_.get()),
      eval_(planner_name, graph.device()),
      eval_shared_(planner_name, graph.device(), borrower_.get()) {
  if (static_cast<int>(modes_.size()) != graph.size())
    throw InternalError("executor: " + std::to_string(modes_.size()) + " modes for " +
                        std::to_string(graph.size()) + " layers");
  for (int i = 0; i < graph.size(); ++i)
    if (!modes_[i]->supports(graph.layer(i)))
      throw ConfigError("backward mode '" + modes_[i]->name() + "' cannot serve layer '" +
                        graph.layer(i).name() + "' (" + graph.layer(i).kind() + ")");
  std::vector<BackwardMode*> raw;
  for (auto& m : modes_) raw.push_back(m.get());
  for (int i = 0; i < graph.size(); ++i) modes_[i]->link(graph, i, raw);
}

void Executor::setup_for(int64_t batch) {
  Shape in = graph_.input_shape();
  in[0] = batch;
  if (graph_.input_shape() != in) graph_.setup(in);  // layers hold batch-dependent geometry
}

void Executor::prepare(Prepared& p, int64_t batch, bool training) {
  setup_for(batch);
  if (p.runtime.reserved() && p.plan.batch == batch) return;
  const bool accumulate = training && micro_batches_ > 1;
  auto build = [&] {
    return build_step_plan(graph_, modes_, batch, num_classes_, training, fold_relus_, accumulate);
  };
  if (training) fit_winograd_to_memory(graph_, [&] { return lower_bound_bytes(build().step); });
  p.plan = build();
  p.runtime.reserve(p.plan.step, p.plan.shapes, p.plan.dtypes);
}

Executor::Prepared& Executor::prepare_evaluation(int64_t batch) {
  last_eval_shared_ = false;
  if (lender_ && train_.runtime.reserved() && lender_->block()) {
    setup_for(batch);
    Prepared& p = eval_shared_;
    const bool current = eval_shared_generation_ == lender_->generation();
    if (current && p.runtime.reserved() && p.plan.batch == batch) {
      last_eval_shared_ = true;
      return p;
    }
    StepPlan plan = build_step_plan(graph_, modes_, batch, num_classes_, false, fold_relus_);
    if (plan_arena_best(plan.step).arena_bytes <= lender_->block_bytes()) {
      if (!current) p.runtime.reset();  // its planner still points into the old block
      p.plan = std::move(plan);
      p.runtime.reserve(p.plan.step, p.plan.shapes, p.plan.dtypes);
      eval_shared_generation_ = lender_->generation();
      last_eval_shared_ = true;
      return p;
    }
  }
  prepare(eval_, batch, false);
  return eval_;
}

int64_t Executor::evaluation_batch(int64_t wanted) {
  if (!lender_ || !train_.runtime.reserved() || !lender_->block()) return wanted;
  auto fits = [&](int64_t b) {
    setup_for(b);
    return plan_arena_best(build_step_plan(graph_, modes_, b, num_classes_, false, fold_relus_).step).arena_bytes <=
           lender_->block_bytes();
  };
  if (fits(wanted)) return wanted;
  if (!fits(1)) return wanted;  // not even one sample fits: evaluation takes memory of its own
  int64_t lo = 1, hi = wanted;  // fits(lo), !fits(hi)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

size_t Executor::evaluation_bytes(int64_t batch) {
  const int64_t b = evaluation_batch(batch);  // what evaluate_dataset runs
  setup_for(b);
  const StepPlan plan = build_step_plan(graph_, modes_, b, num_classes_, false, fold_relus_);
  if (planner_name_ != "static") return lower_bound_bytes(plan.step);
  const size_t arena = plan_arena_best(plan.step).arena_bytes;
  const bool shared = lender_ && train_.runtime.reserved() && lender_->block() && arena <= lender_->block_bytes();
  return shared ? 0 : arena;
}

void Executor::set_relu_folding(bool on) {
  fold_relus_ = on;
  train_.runtime.invalidate();
  eval_.runtime.invalidate();
  eval_shared_.runtime.invalidate();
}

const StepPlan& Executor::training_plan(int64_t batch) {
  prepare(train_, micro_batch(batch), true);
  return train_.plan;
}

void Executor::set_micro_batches(int k) {
  if (k < 1) throw ConfigError("train.micro_batches: expected an integer >= 1, got " + std::to_string(k));
  if (k == micro_batches_) return;
  micro_batches_ = k;
  train_.runtime.invalidate();
  eval_shared_.runtime.invalidate();
}

int64_t Executor::micro_batch(int64_t batch) const {
  if (batch % micro_batches_ != 0)
    throw ConfigError("train.micro_batches: " + std::to_string(micro_batches_) + " does not divide the batch of " +
                      std::to_string(batch) + " samples");
  return batch / micro_batches_;
}

void Executor::set_timing(bool on) {
  timing_ = on;
  timings_.assign(graph_.size(), NodeTiming{});
  loss_seconds_ = 0;
  for (int i = 0; i < graph_.size(); ++i)
    modes_[i]->set_weight_gradient_timer(on ? &timings_[i].backward_weight : nullptr);
}

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

uint64_t Executor::planner_system_allocations() const {  // a borrowed arena is no system allocation
  return train_.runtime.planner().system_allocations() + eval_.runtime.planner().system_allocations();
}

void Executor::load_batch(Prepared& p, const Tensor& images, const Tensor& labels) {
  Tensor& in = p.runtime.tensor(p.plan.input);
  Tensor& lab = p.runtime.tensor(p.plan.labels);
  if (images.shape() != in.shape() || labels.shape() != lab.shape() || labels.dtype() != DType::I32)
    throw ShapeError("batch of images " + images.shape().str() + " and labels " + labels.shape().str() +
                     " does not match the model input " + in.shape().str());
  in.copy_from(images);
  lab.copy_from(labels);
}

void Executor::forward_node(Prepared& p, int node, bool training, uint64_t step, uint64_t seed, int micro) {
  const GraphNode& gn = graph_.node(node);
  const NodeBuffers& nb = p.plan.nodes[node];
  if (nb.folded_into >= 0) return;  // ran inside its producer
  StepRuntime& rt = p.runtime;
  ForwardArgs args;
  for (int v : gn.inputs) args.inputs.push_back(&value(p, v));
  args.output = rt.buffer(nb.folds >= 0 ? p.plan.nodes[nb.folds].output : nb.output);
  for (int32_t id : nb.aux) args.aux.push_back(rt.buffer(id));
  args.workspace = rt.workspace(nb.forward_workspace);
  args.training = training;
  args.rng = dropout_key(seed, node, step, micro);
  if (nb.folds >= 0)
    dynamic_cast<ReluFoldable&>(*gn.layer).forward_relu(args);
  else
    gn.layer->forward(args);
  if (training && !nb.stash.empty()) {
    std::vector<Tensor*> stash;
    for (int32_t id : nb.stash) stash.push_back(rt.buffer(id));
    modes_[node]->after_forward(*gn.layer, args, stash);
  }
}

void Executor::backward_node(Prepared& p, int node, bool accumulate) {
  const GraphNode& gn = graph_.node(node);
  const NodeBuffers& nb = p.plan.nodes[node];
  if (nb.folded_into >= 0) return;  // runs inside its producer's backward
  // A folded pair starts from the ReLU's output gradient.
  const NodeBuffers& top = nb.folds >= 0 ? p.plan.nodes[nb.folds] : nb;
  auto* fold = nb.folds >= 0 ? dynamic_cast<ReluFoldable*>(gn.layer.get()) : nullptr;
  if (top.output_grad == kNoBuffer) return;  // nothing downstream depends on this node
  StepRuntime& rt = p.runtime;
  BackwardArgs args;
  for (size_t k = 0; k < gn.inputs.size(); ++k) {
    args.inputs.push_back(rt.buffer(nb.saved_inputs[k]));
    args.grad_inputs.push_back(rt.buffer(nb.input_grad_target[k]));
  }
  if (fold)
    args.output = fold->backward_relu_reads_output() ? rt.buffer(top.output) : nullptr;
  else
    args.output = rt.buffer(nb.saved_output);
  for (int32_t id : nb.saved_aux) args.aux.push_back(rt.buffer(id));
  args.grad_output = rt.buffer(top.output_grad);
  args.network_output_grad = rt.buffer(p.plan.nodes[graph_.output()].output_grad);
  args.workspace = rt.workspace(nb.backward_workspace);
  std::vector<const Tensor*> stash;
  for (int32_t id : nb.stash) stash.push_back(rt.buffer(id));
  // Accumulating over micro-batches: the layer adds to its gradients itself, or they wait in grad_save.
  Tensor* saved = accumulate ? rt.buffer(nb.grad_save) : nullptr;
  gn.layer->set_accumulate_param_grads(accumulate && !saved);
  DeviceRuntime& device = device_runtime(graph_.device());
  size_t offset = 0;
  if (saved)
    for (Parameter* prm : gn.layer->parameters())
      if (prm->grad.defined()) {
        device.copy(static_cast<char*>(saved->raw()) + offset, graph_.device(), prm->grad.raw(), graph_.device(),
                    prm->grad.nbytes());
        offset += prm->grad.nbytes();
      }
  if (fold)  // only where the mode's backward is the layer's own (training/relu_folding.h)
    fold->backward_relu(args);
  else
    modes_[node]->backward(*gn.layer, args, stash);
  gn.layer->set_accumulate_param_grads(false);
  offset = 0;
  if (saved)
    for (Parameter* prm : gn.layer->parameters())
      if (prm->grad.defined()) {
        gn.layer->kernels().add_inplace(prm->grad.numel(), prm->grad.device_f32(),
                                        reinterpret_cast<const float*>(static_cast<const char*>(saved->raw()) + offset));
        offset += prm->grad.nbytes();
      }
  // Gradients of values read by several nodes: later writers went to scratch; add them in.
  for (size_t k = 0; k < gn.inputs.size(); ++k)
    if (nb.input_grad_is_scratch[k]) {
      Tensor& dst = rt.tensor(p.plan.nodes[gn.inputs[k]].output_grad);
      gn.layer->kernels().add_inplace(dst.numel(), dst.device_f32(), args.grad_inputs[k]->device_f32());
    }
}

void Executor::recompute_node(Prepared& p, const RecomputedNode& rn, uint64_t step, uint64_t seed, int micro) {
  StepRuntime& rt = p.runtime;
  const GraphNode& gn = graph_.node(rn.node);
  ForwardArgs args;
  for (int32_t id : rn.inputs) args.inputs.push_back(rt.buffer(id));
  args.output = rt.buffer(rn.output);
  for (int32_t id : rn.aux) args.aux.push_back(rt.buffer(id));
  args.workspace = rt.workspace(rn.workspace);
  args.training = true;
  args.update_running_stats = false;  // BatchNorm's running statistics moved in the first forward
  args.rng = dropout_key(seed, rn.node, step, micro);  // the same dropout masks
  if (p.plan.nodes[rn.node].folds >= 0)
    dynamic_cast<ReluFoldable&>(*gn.layer).forward_relu(args);
  else
    gn.layer->forward(args);
}

StepResult Executor::loss_and_grad(Prepared& p, const Tensor& labels, bool training) {
  const Tensor& logits = value(p, graph_.output());
  Tensor& probs = p.runtime.tensor(p.plan.probs);
  StepResult r;
  r.samples = labels.dim(0);
  r.loss = loss_.forward(logits, labels, probs);
  r.correct = SoftmaxCrossEntropy::count_correct(logits, labels);
  // Each of k micro-batches contributes 1/k of the mean over the whole batch.
  if (training)
    loss_.backward(probs, labels, p.runtime.tensor(p.plan.nodes[graph_.output()].output_grad),
                   micro_batches_ > 1 ? 1.0f / static_cast<float>(micro_batches_) : 1.0f);
  return r;
}

StepResult Executor::train_step(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed) {
  if (micro_batches_ == 1) return train_pass(images, labels, step, seed, 0);
  const int64_t b = micro_batch(images.dim(0));
  StepResult total;
  double loss_sum = 0;
  for (int j = 0; j < micro_batches_; ++j) {
    const StepResult r = train_pass(images.slice0(j * b, (j + 1) * b), labels.slice0(j * b, (j + 1) * b), step,
                                    seed, j);
    loss_sum += r.loss;
    total.correct += r.correct;
    total.samples += r.samples;
  }
  total.loss = static_cast<float>(loss_sum / micro_batches_);
  return total;
}

StepResult Executor::train_pass(const Tensor& images, const Tensor& labels, uint64_t step, uint64_t seed,
                                int micro) {
  Prepared& p = train_;
  prepare(p, images.dim(0), true);
  StepRuntime& rt = p.runtime;
  if (micro == 0)  // the whole step's probes and the like, shared by its passes
    for (auto& m : modes_) m->begin_step(static_cast<int64_t>(step));
  const bool accumulate = micro > 0;
  const bool last = micro == micro_batches_ - 1;
  rt.begin_step();
  const int L = graph_.size();
  rt.enter(p.plan.time_data);
  load_batch(p, images, labels);
  rt.leave(p.plan.time_data);
  double t0 = timing_ ? now_seconds() : 0;
  auto lap = [&](double& into) {
    if (!timing_) return;
    device_runtime(graph_.device()).synchronize();  // a device's kernels run asynchronously
    double t = now_seconds();
    into += t - t0;
    t0 = t;
  };
  for (int i = 0; i < L; ++i) {
    rt.enter(p.plan.forward_time(i));
    forward_node(p, i, true, step, seed, micro);
    rt.leave(p.plan.forward_time(i));
    lap(timings_.empty() ? loss_seconds_ : timings_[i].forward);
  }
  rt.enter(p.plan.time_loss);
  StepResult r = loss_and_grad(p, rt.tensor(p.plan.labels), true);
  rt.leave(p.plan.time_loss);
  lap(loss_seconds_);
  for (int i = L - 1; i >= 0; --i) {
    if (p.plan.nodes[i].recompute >= 0)
      for (const RecomputedNode& rn : p.plan.recompute[p.plan.nodes[i].recompute].nodes) {
        rt.enter(rn.time);
        recompute_node(p, rn, step, seed, micro);
        rt.leave(rn.time);
        lap(timings_.empty() ? loss_seconds_ : timings_[rn.node].recompute);
      }
    rt.enter(p.plan.backward_time(i));
    backward_node(p, i, accumulate);
    rt.leave(p.plan.backward_time(i));
    lap(timings_.empty() ? loss_seconds_ : timings_[i].backward);
    if (after_backward_ && last) after_backward_(i);  // the gradients are final in the last pass
  }
  rt.enter(p.plan.time_optimizer);
  rt.leave(p.plan.time_optimizer);
  return r;
}

StepResult Executor::evaluate(const Tensor& images, const Tensor& labels) {
  Prepared& p = prepare_evaluation(images.dim(0));
  StepRuntime& rt = p.runtime;
  rt.begin_step();
  rt.enter(p.plan.time_data);
  load_batch(p, images, labels);
  rt.leave(p.plan.time_data);
  for (int i = 0; i < graph_.size(); ++i) {
    rt.enter(p.plan.forward_time(i));
    forward_node(p, i, false, 0, 0);
    rt.leave(p.plan.forward_time(i));
  }
  rt.enter(p.plan.time_loss);
  StepResult r = loss_and_grad(p, rt.tensor(p.plan.labels), false);
  rt.leave(p.plan.time_loss);
  return r;
}

}  // namespace frugal
