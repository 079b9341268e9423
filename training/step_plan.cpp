#include "training/step_plan.h"

#include <algorithm>

#include "core/error.h"
#include "training/recompute_segments.h"
#include "training/relu_folding.h"

namespace frugal {
namespace {

class PlanBuilder {
 public:
  explicit PlanBuilder(StepPlan& plan) : plan_(plan) {}

  int32_t add(const std::string& owner, const std::string& layer, const Shape& shape, DType dtype,
              MemoryCategory category, int32_t first, int32_t last) {
    size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
    if (bytes == 0) return kNoBuffer;
    auto id = static_cast<int32_t>(plan_.step.buffers.size());
    plan_.step.buffers.push_back({id, bytes, category, first, last, owner, layer});
    plan_.shapes.push_back(shape);
    plan_.dtypes.push_back(dtype);
    return id;
  }
  BufferSpec& spec(int32_t id) { return plan_.step.buffers[id]; }

 private:
  StepPlan& plan_;
};

// `folds`: per node, the ReLU folded into it or -1 (training/relu_folding.h).
StepPlan build_plan(Graph& graph, const std::vector<BackwardMode*>& modes, int64_t batch,
                    int64_t num_classes, bool training, const std::vector<int>& folds, bool accumulate_grads) {
  StepPlan plan;
  plan.training = training;
  plan.batch = batch;
  const int L = graph.size();
  plan.nodes.resize(L);
  plan.time_data = 0;
  plan.time_loss = L + 1;

  // What each node keeps for its backward, and who consumes each value.
  for (int i = 0; i < L; ++i) {
    if (training) {
      plan.nodes[i].keeps = modes.at(i)->keeps(graph.layer(i));
      plan.nodes[i].keeps.inputs.resize(graph.node(i).inputs.size(), false);
    } else {
      plan.nodes[i].keeps = SavedNeeds{std::vector<bool>(graph.node(i).inputs.size(), false), false, {}};
    }
  }
  for (int i = 0; i < L; ++i)
    if (folds[i] >= 0) {
      plan.nodes[i].folds = folds[i];
      plan.nodes[folds[i]].folded_into = i;
      plan.nodes[folds[i]].keeps = SavedNeeds{{false}, false, {}};  // the pair's backward is the producer's
    }
  // A folded ReLU's output, read again by its producer's backward.
  auto read_by_fold = [&](int value) {
    if (!training || value == Graph::kInput || plan.nodes[value].folded_into < 0) return false;
    return dynamic_cast<const ReluFoldable&>(*graph.node(plan.nodes[value].folded_into).layer)
        .backward_relu_reads_output();
  };
  // Last time a value (kInput or a node id) is read.
  auto value_last_use = [&](int value) {
    int32_t last = value == Graph::kInput ? 0 : plan.forward_time(value);
    for (int c : graph.consumers(value)) {
      last = std::max(last, plan.forward_time(c));
      const auto& in = graph.node(c).inputs;
      for (size_t k = 0; k < in.size(); ++k)
        if (in[k] == value && plan.nodes[c].keeps.inputs[k]) last = std::max(last, plan.backward_time(c));
    }
    if (value != Graph::kInput && plan.nodes[value].keeps.output)
      last = std::max(last, plan.backward_time(value));
    if (value == graph.output()) last = std::max(last, plan.time_loss);
    if (read_by_fold(value)) last = std::max(last, plan.backward_time(plan.nodes[value].folded_into));
    return last;
  };
  auto value_kept = [&](int value) {
    for (int c : graph.consumers(value)) {
      const auto& in = graph.node(c).inputs;
      for (size_t k = 0; k < in.size(); ++k)
        if (in[k] == value && plan.nodes[c].keeps.inputs[k]) return true;
    }
    return value != Graph::kInput && (plan.nodes[value].keeps.output || read_by_fold(value));
  };

  // Recompute segments, and the schedule with their re-runs before the backward of each one's last node.
  RecomputeInputs rin;
  for (int i = 0; i < L; ++i) {
    rin.recomputes.push_back(training && modes[i]->recomputes());
    rin.folded_into.push_back(plan.nodes[i].folded_into);
    rin.value_kept.push_back(value_kept(i));
  }
  const std::vector<RecomputeSegment> segments =
      training ? find_recompute_segments(graph, rin) : std::vector<RecomputeSegment>{};
  std::vector<int> segment_ending_at(L, -1);
  for (size_t k = 0; k < segments.size(); ++k) segment_ending_at[segments[k].last] = static_cast<int>(k);

  auto& sched = plan.step.schedule;
  sched.push_back({"batch", "data"});
  for (int i = 0; i < L; ++i) sched.push_back({graph.layer(i).name(), "forward"});
  sched.push_back({"loss", "forward"});
  plan.backward_times.assign(L, 0);
  if (training) {
    for (int i = L - 1; i >= 0; --i) {
      if (segment_ending_at[i] >= 0) {
        const RecomputeSegment& seg = segments[segment_ending_at[i]];
        plan.nodes[i].recompute = static_cast<int>(plan.recompute.size());
        RecomputePass pass;
        pass.first = seg.first;
        pass.last = seg.last;
        for (int u : seg.units) {
          RecomputedNode rn;
          rn.node = u;
          rn.time = static_cast<int32_t>(sched.size());
          sched.push_back({graph.layer(u).name(), "recompute"});
          pass.nodes.push_back(rn);
        }
        plan.recompute.push_back(std::move(pass));
      }
      plan.backward_times[i] = static_cast<int32_t>(sched.size());
      sched.push_back({graph.layer(i).name(), "backward"});
    }
    sched.push_back({"update", "optimizer"});
  }
  plan.time_optimizer = static_cast<int32_t>(sched.size()) - 1;

  // Where each pass's re-runs and backwards read their values: a value re-run in the pass is read
  // from there; any other (kept from the forward, or the network input) is read where it is, its
  // lifetime stretched (late_read).
  std::vector<int32_t> late_read(L + 1, -1);  // index v + 1: late_read[0] is the network input
  auto stretch = [&](int v, int32_t t) { late_read[v + 1] = std::max(late_read[v + 1], t); };
  std::vector<std::vector<int>> rerun_index(plan.recompute.size());  // per pass, per node: index or -1
  for (size_t k = 0; k < plan.recompute.size(); ++k) {
    RecomputePass& pass = plan.recompute[k];
    rerun_index[k].assign(L, -1);
    for (size_t j = 0; j < pass.nodes.size(); ++j) rerun_index[k][pass.nodes[j].node] = static_cast<int>(j);
    auto rerun_of = [&](int v) { return v == Graph::kInput ? -1 : rerun_index[k][unit_of(rin, v)]; };
    for (const RecomputedNode& rn : pass.nodes)
      for (int v : graph.node(rn.node).inputs)
        if (rerun_of(v) < 0) stretch(v, rn.time);
    for (int r = pass.first; r <= pass.last; ++r) {
      const SavedNeeds needs = graph.layer(r).saved_needs();
      const auto& ins = graph.node(r).inputs;
      for (size_t j = 0; j < ins.size(); ++j)
        if (needs.inputs[j] && rerun_of(ins[j]) < 0) stretch(ins[j], plan.backward_time(r));
      if (needs.output && rerun_of(r) < 0) stretch(r, plan.backward_time(r));
    }
  }
  auto value_last_read = [&](int v) { return std::max(value_last_use(v), late_read[v + 1]); };

  PlanBuilder b(plan);
  const Shape& in_shape = graph.input_shape();
  plan.input = b.add("input", "", in_shape, DType::F32, MemoryCategory::Data, 0,
                     value_last_read(Graph::kInput));
  plan.labels = b.add("labels", "", {batch}, DType::I32, MemoryCategory::Data, 0, plan.time_loss);

  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    NodeBuffers& nb = plan.nodes[i];
    const std::string& name = layer.name();
    const int32_t tf = plan.forward_time(i);
    if (nb.folds < 0)  // a folded ReLU's output is written by its producer's forward
      nb.output = b.add(name + "/output", name, layer.output_shape(), DType::F32,
                        value_kept(i) || late_read[i + 1] >= 0 ? MemoryCategory::Stash : MemoryCategory::Activations,
                        nb.folded_into >= 0 ? plan.forward_time(nb.folded_into) : tf, value_last_read(i));
    const bool keep_aux = training && !nb.keeps.aux.empty();
    if (training)  // the forward of a training step writes its aux even when the mode drops it
      for (const AuxSpec& a : layer.saved_needs().aux)
        nb.aux.push_back(b.add(name + "/" + a.name, name, a.shape, a.dtype,
                               keep_aux ? MemoryCategory::Stash : MemoryCategory::Workspace, tf,
                               keep_aux ? plan.backward_time(i) : tf));
    nb.forward_workspace = b.add(name + "/forward_workspace", name,
                                 {static_cast<int64_t>(layer.forward_workspace_bytes())}, DType::U8,
                                 MemoryCategory::Workspace, tf, tf);
    if (!training || nb.folded_into >= 0) continue;
    BackwardMode& mode = *modes[i];
    const int32_t tb = plan.backward_time(i);
    for (const StashSpec& s : mode.stash_specs(layer))
      nb.stash.push_back(b.add(name + "/" + s.name, name, s.shape, s.dtype, MemoryCategory::Stash, tf, tb));
    nb.backward_workspace = b.add(name + "/backward_workspace", name,
                                  {static_cast<int64_t>(mode.backward_workspace_bytes(layer))}, DType::U8,
                                  MemoryCategory::Workspace, tb, tb);
    // Micro-batches after the first add to the parameter gradients; a backward that only overwrites
    // them (a folded pair's, or its mode's) has them saved here around it and added back.
    if (accumulate_grads && (nb.folds >= 0 || !mode.accumulates_param_grads(layer))) {
      int64_t floats = 0;
      for (Parameter* p : layer.parameters())
        if (p->grad.defined()) floats += p->grad.numel();
      nb.grad_save = b.add(name + "/gradient_accumulation", name, {floats}, DType::F32, MemoryCategory::Workspace,
                           tb, tb);
    }
  }
  plan.probs = b.add("loss/probs", "", {batch, num_classes}, DType::F32, MemoryCategory::Stash,
                     plan.time_loss, plan.time_loss);
  if (!training) return plan;

  // The re-runs' buffers: each value lives until its last reader in the pass (a later re-run, or a
  // backward of the segment); statistics only when the node's own backward reads them.
  for (size_t k = 0; k < plan.recompute.size(); ++k) {
    RecomputePass& pass = plan.recompute[k];
    auto rerun_of = [&](int v) { return v == Graph::kInput ? -1 : rerun_index[k][unit_of(rin, v)]; };
    std::vector<int32_t> last(pass.nodes.size());
    std::vector<bool> read_by_backward(pass.nodes.size(), false);
    for (size_t j = 0; j < pass.nodes.size(); ++j) last[j] = pass.nodes[j].time;
    for (const RecomputedNode& rn : pass.nodes)
      for (int v : graph.node(rn.node).inputs)
        if (rerun_of(v) >= 0) last[rerun_of(v)] = std::max(last[rerun_of(v)], rn.time);
    for (int r = pass.first; r <= pass.last; ++r) {
      const SavedNeeds needs = graph.layer(r).saved_needs();
      const auto& ins = graph.node(r).inputs;
      auto read = [&](int v) {
        const int j = rerun_of(v);
        if (j < 0) return;
        last[j] = std::max(last[j], plan.backward_time(r));
        read_by_backward[j] = true;
      };
      for (size_t j = 0; j < ins.size(); ++j)
        if (needs.inputs[j]) read(ins[j]);
      if (needs.output) read(r);
    }
    for (size_t j = 0; j < pass.nodes.size(); ++j) {
      RecomputedNode& rn = pass.nodes[j];
      Layer& layer = graph.layer(rn.node);
      const std::string& name = layer.name();
      const int value = plan.nodes[rn.node].folds >= 0 ? plan.nodes[rn.node].folds : rn.node;
      rn.output = b.add(name + "/recomputed_output", name, graph.layer(value).output_shape(), DType::F32,
                        read_by_backward[j] ? MemoryCategory::Stash : MemoryCategory::Activations, rn.time, last[j]);
      const bool own = rin.recomputes[rn.node] && rn.node >= pass.first && rn.node <= pass.last;
      for (const AuxSpec& a : layer.saved_needs().aux)
        rn.aux.push_back(b.add(name + "/recomputed_" + a.name, name, a.shape, a.dtype,
                               own ? MemoryCategory::Stash : MemoryCategory::Workspace, rn.time,
                               own ? plan.backward_time(rn.node) : rn.time));
      rn.workspace = b.add(name + "/recompute_workspace", name, {static_cast<int64_t>(layer.forward_workspace_bytes())},
                           DType::U8, MemoryCategory::Workspace, rn.time, rn.time);
    }
    for (RecomputedNode& rn : pass.nodes)
      for (int v : graph.node(rn.node).inputs)
        rn.inputs.push_back(rerun_of(v) >= 0 ? pass.nodes[rerun_of(v)].output
                                             : (v == Graph::kInput ? plan.input : plan.nodes[v].output));
  }

  // What each backward reads.
  for (int i = 0; i < L; ++i) {
    NodeBuffers& nb = plan.nodes[i];
    const auto& ins = graph.node(i).inputs;
    auto forward_value = [&](int v) { return v == Graph::kInput ? plan.input : plan.nodes[v].output; };
    nb.saved_inputs.assign(ins.size(), kNoBuffer);
    nb.saved_aux.assign(nb.aux.size(), kNoBuffer);
    if (nb.folded_into >= 0) continue;
    if (!rin.recomputes[i]) {
      for (size_t k = 0; k < ins.size(); ++k)
        if (nb.keeps.inputs[k]) nb.saved_inputs[k] = forward_value(ins[k]);
      nb.saved_output = nb.keeps.output ? nb.output : kNoBuffer;
      if (!nb.keeps.aux.empty()) nb.saved_aux = nb.aux;
      continue;
    }
    // A recompute node: from its segment's pass.
    int k = 0;
    while (plan.recompute[k].last < i || plan.recompute[k].first > i) ++k;
    const RecomputePass& pass = plan.recompute[k];
    auto source = [&](int v) {
      const int j = v == Graph::kInput ? -1 : rerun_index[k][unit_of(rin, v)];
      return j >= 0 ? pass.nodes[j].output : forward_value(v);
    };
    const SavedNeeds needs = graph.layer(i).saved_needs();
    for (size_t j = 0; j < ins.size(); ++j)
      if (needs.inputs[j]) nb.saved_inputs[j] = source(ins[j]);
    if (needs.output) nb.saved_output = source(i);
    if (!needs.aux.empty()) nb.saved_aux = pass.nodes[rerun_index[k][i]].aux;
  }

  // Values whose gradient reaches no parameter (parameter-free layers over the input, like an MLP's
  // Flatten) get none, as the input gets none: their consumers skip that data gradient, so the first
  // Linear behind a Flatten runs no backward-data GEMM. Node ids are in topological order.
  std::vector<bool> grad_reaches_params(L, false);
  for (int i = 0; i < L; ++i) {
    grad_reaches_params[i] = !graph.layer(i).parameters().empty();
    for (int v : graph.node(i).inputs)
      if (v != Graph::kInput && grad_reaches_params[v]) grad_reaches_params[i] = true;
  }
  auto gradient_needed = [&](int v) { return v != Graph::kInput && grad_reaches_params[v]; };

  // A node whose backward runs in place (an activation, or a folded pair) writes the gradient of an
  // input that only it reads over its output's gradient, which nothing reads afterwards: the two share
  // one buffer. Not the network output's gradient, which DFA-style modes read late.
  std::vector<int> grad_shared_with(L, -1);  // per node: the node whose output gradient buffer it takes
  for (int i = 0; i < L; ++i) {
    const NodeBuffers& nb = plan.nodes[i];
    const int donor = nb.folds >= 0 ? nb.folds : i;
    const bool in_place = nb.folds >= 0 || (nb.folded_into < 0 && modes[i]->backward_in_place(graph.layer(i)));
    if (!in_place || donor == graph.output()) continue;
    const auto& ins = graph.node(i).inputs;
    for (int v : ins)
      if (gradient_needed(v) && graph.consumers(v) == std::vector<int>{i} &&
          std::count(ins.begin(), ins.end(), v) == 1) {
        grad_shared_with[v] = donor;
        break;
      }
  }
  // Gradients of values: written first by the consumer whose backward runs first (the highest node
  // id), alive until the producer's backward.
  auto grad_last_use = [&](int value) {
    return plan.backward_time(plan.nodes[value].folded_into >= 0 ? plan.nodes[value].folded_into : value);
  };
  for (int i = 0; i < L; ++i) {
    Layer& layer = graph.layer(i);
    auto consumers = graph.consumers(i);
    if (consumers.empty() && i != graph.output()) continue;  // a dead end: no gradient flows
    if (!gradient_needed(i) && i != graph.output()) continue;  // reaches no parameter
    if (plan.nodes[i].folds >= 0) continue;                  // the folded pair's backward reads the ReLU's
    if (grad_shared_with[i] >= 0) continue;                  // below, once the donor's exists
    int32_t first = i == graph.output() ? plan.time_loss : plan.backward_time(consumers.back());
    int32_t last = grad_last_use(i);
    if (i == graph.output())  // modes that send the output error to hidden layers read it late
      for (int j = 0; j < L; ++j)
        if (modes[j]->reads_network_output_grad()) last = std::max(last, plan.backward_time(j));
    plan.nodes[i].output_grad = b.add(layer.name() + "/grad", layer.name(), layer.output_shape(),
                                      DType::F32, MemoryCategory::Activations, first, last);
  }
  for (int i = L - 1; i >= 0; --i)  // donors first: a donor may itself take a later node's buffer
    if (grad_shared_with[i] >= 0) {
      const int32_t id = plan.nodes[grad_shared_with[i]].output_grad;
      plan.nodes[i].output_grad = id;
      if (id != kNoBuffer) b.spec(id).last_use = std::max(b.spec(id).last_use, grad_last_use(i));
    }
  for (int i = 0; i < L; ++i) {
    NodeBuffers& nb = plan.nodes[i];
    Layer& layer = graph.layer(i);
    const auto& ins = graph.node(i).inputs;
    const int32_t tb = plan.backward_time(i);
    if (nb.folded_into >= 0) {  // no backward of its own
      nb.input_grad_target.assign(ins.size(), kNoBuffer);
      nb.input_grad_is_scratch.assign(ins.size(), false);
      continue;
    }
    for (size_t k = 0; k < ins.size(); ++k) {
      int v = ins[k];
      bool scratch;
      int32_t target;
      if (!gradient_needed(v)) {
        // Nobody needs this gradient; weighted layers skip it, others write to scratch.
        scratch = true;
        target = dynamic_cast<WeightedLayer*>(&layer)
                     ? kNoBuffer
                     : b.add(layer.name() + "/input_grad_scratch", layer.name(),
                             v == Graph::kInput ? in_shape : graph.layer(v).output_shape(), DType::F32,
                             MemoryCategory::Workspace, tb, tb);
      } else if (graph.consumers(v).back() == i && k == static_cast<size_t>(
                     std::find(ins.begin(), ins.end(), v) - ins.begin())) {
        scratch = false;
        target = plan.nodes[v].output_grad;
      } else {
        scratch = true;
        target = b.add(layer.name() + "/grad_scratch" + std::to_string(k), layer.name(),
                       graph.layer(v).output_shape(), DType::F32, MemoryCategory::Workspace, tb, tb);
      }
      nb.input_grad_target.push_back(target);
      nb.input_grad_is_scratch.push_back(scratch && gradient_needed(v));
    }
  }
  plan.step.validate();
  return plan;
}

}  // namespace

StepPlan build_step_plan(Graph& graph, const std::vector<std::unique_ptr<BackwardMode>>& modes,
                         int64_t batch, int64_t num_classes, bool training, bool fold_relus,
                         bool accumulate_grads) {
  std::vector<BackwardMode*> raw;
  for (const auto& m : modes) raw.push_back(m.get());
  return build_step_plan(graph, raw, batch, num_classes, training, fold_relus, accumulate_grads);
}

StepPlan build_step_plan(Graph& graph, const std::vector<BackwardMode*>& modes, int64_t batch,
                         int64_t num_classes, bool training, bool fold_relus, bool accumulate_grads) {
  const std::vector<int> none(graph.size(), -1);
  const bool acc = training && accumulate_grads;
  if (!fold_relus) return build_plan(graph, modes, batch, num_classes, training, none, acc);
  const std::vector<int> folds = find_relu_folds(graph, modes, training);
  if (folds == none) return build_plan(graph, modes, batch, num_classes, training, none, acc);
  StepPlan folded = build_plan(graph, modes, batch, num_classes, training, folds, acc);
  StepPlan unfolded = build_plan(graph, modes, batch, num_classes, training, none, acc);
  // Folding saves passes, and usually buffers too; where it would need more memory at the step's
  // busiest moment (an Add with no input of its own to write in place), the step runs unfolded.
  return lower_bound_bytes(folded.step) <= lower_bound_bytes(unfolded.step) ? std::move(folded)
                                                                             : std::move(unfolded);
}

}  // namespace frugal
