#include "training/optim/per_parameter_state.h"

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"

namespace frugal {
namespace {

constexpr const char* kStepEntry = "step";

std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + " " + t.shape().str(); }

}  // namespace

PerParameterStateOptimizer::PerParameterStateOptimizer(const char* optimizer_name,
                                                       std::vector<ParameterSlice> params,
                                                       std::vector<std::string> buffer_names,
                                                       Allocator* alloc)
    : optimizer_name_(optimizer_name), buffer_names_(std::move(buffer_names)) {
  std::set<std::string> names;
  for (size_t i = 0; i < params.size();) {
    Parameter* p = params[i].param;
    if (!p)
      throw InternalError(std::string(optimizer_name_) + ": parameter #" + std::to_string(i) + " is null");
    if (!p->trainable) {
      ++i;
      continue;
    }
    const std::string where = std::string(optimizer_name_) + ": parameter '" + p->name + "'";
    if (!p->value.defined() || p->value.dtype() != DType::F32)
      throw InternalError(where + " must be a defined F32 tensor");
    if (!names.insert(p->name).second) throw InternalError(where + " is given twice");
    // This parameter's run of slices: disjoint, ascending; a whole parameter comes alone.
    const size_t first_slot = slots_.size();
    int64_t total = 0, end = 0;
    for (; i < params.size() && params[i].param == p; ++i) {
      const ParameterSlice& ps = params[i];
      const int64_t count = ps.whole() ? p->value.numel() : ps.count;
      if (ps.begin < end || count <= 0 || ps.begin + count > p->value.numel() ||
          (ps.grad.defined() && (ps.grad.numel() != count || ps.grad.dtype() != DType::F32)) ||
          (ps.whole() && slots_.size() > first_slot))
        throw InternalError(where + ": slice [" + std::to_string(ps.begin) + ", +" + std::to_string(count) +
                            ") does not fit its " + std::to_string(p->value.numel()) +
                            " elements, its gradient, or its other slices");
      slots_.push_back(Slot{p, ps.begin, count, ps.grad, {}});
      total += count;
      end = ps.begin + count;
    }
    const bool whole = slots_.size() == first_slot + 1 && slots_[first_slot].whole();
    const Shape buffer_shape = whole ? p->value.shape() : Shape{total};
    // The tag's owner string is the parameter's own name, which lives in the model with the parameter.
    const AllocTag tag{MemoryCategory::OptimizerState, p->name.c_str()};
    Allocator* buffers_from = alloc ? alloc : &device_runtime(p->value.device()).allocator();
    Entry entry{p, {}};
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      entry.buffers.push_back(Tensor::zeros(buffer_shape, DType::F32, buffers_from, tag));
    int64_t at = 0;
    for (size_t k = first_slot; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      for (const Tensor& buffer : entry.buffers)
        slot.buffers.push_back(whole ? buffer : buffer.slice0(at, at + slot.count));
      at += slot.count;
    }
    entries_.push_back(std::move(entry));
  }
}

void PerParameterStateOptimizer::check_gradients() const {
  for (const Slot& s : slots_) {
    const Parameter& p = *s.param;
    const std::string where = std::string(optimizer_name_) + ": parameter '" + p.name + "'";
    if (s.grad.defined()) continue;  // checked at construction
    if (!p.grad.defined()) throw InternalError(where + " is trainable but has no gradient");
    if (p.grad.dtype() != DType::F32 || p.grad.shape() != p.value.shape() || p.grad.device() != p.value.device())
      throw ShapeError(where + " has value F32 " + p.value.shape().str() + " but gradient " +
                       describe(p.grad));
  }
}

void PerParameterStateOptimizer::step(float lr) {
  if (!std::isfinite(lr) || lr < 0)
    throw ConfigError(std::string(optimizer_name_) + ": learning rate must be finite and >= 0, got " +
                      std::to_string(lr));
  check_gradients();  // before touching anything, so a bad gradient leaves every parameter as it was
  ++steps_;
  for (Slot& s : slots_) update(s, lr, steps_);
}

NamedTensors PerParameterStateOptimizer::state() const {
  NamedTensors out;
  for (const Entry& e : entries_)
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      out.emplace_back(e.param->name + "." + buffer_names_[b], e.buffers[b]);
  Tensor step = Tensor::empty(Shape{}, DType::I64);
  *step.data<int64_t>() = steps_;
  out.emplace_back(kStepEntry, step);
  return out;
}

void PerParameterStateOptimizer::load_state(const NamedTensors& state) {
  const std::string prefix = std::string(optimizer_name_) + " state: ";
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state)
    if (!given.emplace(name, &t).second) throw DataError(prefix + "entry '" + name + "' appears twice");

  std::vector<std::string> problems;
  auto take = [&](const std::string& name, DType dtype, const Shape& shape) -> const Tensor* {
    auto it = given.find(name);
    if (it == given.end()) {
      problems.push_back("missing '" + name + "'");
      return nullptr;
    }
    const Tensor* t = it->second;
    given.erase(it);
    if (!t->defined() || t->dtype() != dtype || t->shape() != shape || t->device() != Device::CPU) {
      problems.push_back("'" + name + "' expected " + dtype_name(dtype) + " " + shape.str() + ", found " +
                         (t->defined() ? describe(*t) : "an undefined tensor"));
      return nullptr;
    }
    return t;
  };

  std::vector<std::pair<Tensor*, const Tensor*>> copies;
  for (Entry& e : entries_)
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      if (const Tensor* src = take(e.param->name + "." + buffer_names_[b], DType::F32, e.buffers[b].shape()))
        copies.emplace_back(&e.buffers[b], src);
  int64_t steps = 0;
  if (const Tensor* step = take(kStepEntry, DType::I64, Shape{})) {
    steps = *step->data<int64_t>();
    if (steps < 0) problems.push_back("'step' must be >= 0, found " + std::to_string(steps));
  }
  for (const auto& entry : given) problems.push_back("unexpected '" + entry.first + "'");

  if (!problems.empty()) {
    constexpr size_t kShown = 10;  // a state from another optimizer would otherwise list every parameter
    std::string message = prefix;
    for (size_t i = 0; i < problems.size() && i < kShown; ++i) message += (i ? "; " : "") + problems[i];
    if (problems.size() > kShown) message += "; and " + std::to_string(problems.size() - kShown) + " more";
    throw DataError(message);
  }
  for (auto& [dst, src] : copies) dst->copy_from(*src);
  steps_ = steps;
}

size_t PerParameterStateOptimizer::state_bytes() const {
  size_t bytes = 0;
  for (const Entry& e : entries_)
    for (const Tensor& b : e.buffers) bytes += b.nbytes();
  return bytes;
}

}  // namespace frugal
