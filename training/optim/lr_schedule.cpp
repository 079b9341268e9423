#include "training/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace frugal {
namespace {

constexpr double kPi = 3.14159265358979323846;

// `key` is the config key the option comes from.
[[noreturn]] void reject(const std::string& key, const std::string& problem) {
  throw ConfigError(key + " " + problem);
}

std::string shortest(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

const std::vector<std::string>& lr_schedule_names() {
  static const std::vector<std::string> names = {"constant", "multistep", "cosine"};
  return names;
}

LrSchedule::LrSchedule(LrScheduleOptions opts) : opts_(std::move(opts)) {
  const auto& o = opts_;
  const auto& valid = lr_schedule_names();
  std::string names;
  for (const std::string& n : valid) names += (names.empty() ? "" : ", ") + n;
  if (std::find(valid.begin(), valid.end(), o.name) == valid.end())
    reject("schedule.name", "must be one of " + names + ", got '" + o.name + "'");
  if (!std::isfinite(o.base_lr) || o.base_lr < 0)
    reject("optimizer.lr", "must be finite and >= 0, got " + shortest(o.base_lr));
  if (o.steps_per_epoch < 1)
    reject("steps per epoch", "must be >= 1, got " + std::to_string(o.steps_per_epoch));
  if (o.total_epochs < 1) reject("train.epochs", "must be >= 1, got " + std::to_string(o.total_epochs));
  if (!std::isfinite(o.warmup_epochs) || o.warmup_epochs < 0)
    reject("schedule.warmup_epochs", "must be finite and >= 0, got " + shortest(o.warmup_epochs));
  if (o.warmup_epochs > static_cast<double>(o.total_epochs))
    reject("schedule.warmup_epochs", "(" + shortest(o.warmup_epochs) + ") must not exceed train.epochs (" +
                                std::to_string(o.total_epochs) + ")");
  if (!std::isfinite(o.gamma) || o.gamma <= 0)
    reject("schedule.gamma", "must be finite and > 0, got " + shortest(o.gamma));
  for (size_t i = 0; i < o.milestones_epochs.size(); ++i) {
    if (o.milestones_epochs[i] < 0)
      reject("schedule.milestones", "must hold epochs >= 0, got " + list(o.milestones_epochs));
    if (i > 0 && o.milestones_epochs[i] <= o.milestones_epochs[i - 1])
      reject("schedule.milestones", "must be strictly increasing, got " + list(o.milestones_epochs));
  }
  // Options the chosen schedule ignores are accepted, so `--set schedule.name=...` can switch schedules.
  if (!std::isfinite(o.min_lr) || o.min_lr < 0 || (o.name == "cosine" && o.min_lr > o.base_lr))
    reject("schedule.min_lr", "must be in [0, optimizer.lr = " + shortest(o.base_lr) + "], got " +
                         shortest(o.min_lr));

  total_steps_ = o.total_epochs * o.steps_per_epoch;
  warmup_steps_ = std::llround(o.warmup_epochs * static_cast<double>(o.steps_per_epoch));
  if (o.name == "cosine" && warmup_steps_ >= total_steps_)
    reject("schedule.warmup_epochs", "leaves no steps for the cosine decay: " + std::to_string(warmup_steps_) +
                                " warm-up steps of " + std::to_string(total_steps_) + " in total");
}

float LrSchedule::lr_at(int64_t step) const {
  if (step < 0) throw InternalError("lr schedule: step must be >= 0, got " + std::to_string(step));
  const double base = opts_.base_lr;
  if (step < warmup_steps_) return static_cast<float>(base * static_cast<double>(step + 1) / warmup_steps_);

  if (opts_.name == "multistep") {
    const int64_t epoch = step / opts_.steps_per_epoch;
    const auto& m = opts_.milestones_epochs;
    const auto passed = std::upper_bound(m.begin(), m.end(), epoch) - m.begin();
    return static_cast<float>(base * std::pow(static_cast<double>(opts_.gamma), static_cast<double>(passed)));
  }
  if (opts_.name == "cosine") {
    const auto t = static_cast<double>(std::min(step - warmup_steps_, total_steps_ - warmup_steps_));
    const auto period = static_cast<double>(total_steps_ - warmup_steps_);
    const double min_lr = opts_.min_lr;
    return static_cast<float>(min_lr + (base - min_lr) * (1.0 + std::cos(kPi * t / period)) / 2.0);
  }
  return opts_.base_lr;
}

}  // namespace frugal
