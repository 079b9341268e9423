// The learning rate for every global step (0-based) of a run:
//   warm-up    the first round(warmup_epochs * steps_per_epoch) steps ramp linearly,
//              lr = base_lr * (step + 1) / warmup_steps, reaching base_lr on the last warm-up step;
//   then one of
//   constant   base_lr
//   multistep  base_lr * gamma^(number of milestones <= epoch), epoch = step / steps_per_epoch
//              (PyTorch's MultiStepLR stepped once per epoch);
//   cosine     min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2, per step, with t the step after
//              warm-up and T = total_epochs * steps_per_epoch - warmup_steps; min_lr once t >= T.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

struct LrScheduleOptions {
  std::string name = "constant";  // constant | multistep | cosine
  float base_lr = 0.1f;
  std::vector<int64_t> milestones_epochs;  // multistep: strictly increasing epochs
  float gamma = 0.1f;                      // multistep: factor per milestone passed
  double warmup_epochs = 0;                // may be fractional
  float min_lr = 0;                        // cosine: the final learning rate
  int64_t total_epochs = 1;
  int64_t steps_per_epoch = 1;
};

// "constant", "multistep", "cosine": the names LrScheduleOptions::name takes (the schema enumerates these).
const std::vector<std::string>& lr_schedule_names();

class LrSchedule {
 public:
  // Throws ConfigError naming the config key at fault (schedule.milestones, optimizer.lr, ...): each
  // option is the config key of the same meaning.
  explicit LrSchedule(LrScheduleOptions opts);
  float lr_at(int64_t step) const;  // InternalError for step < 0
  int64_t warmup_steps() const { return warmup_steps_; }
  const LrScheduleOptions& options() const { return opts_; }

 private:
  LrScheduleOptions opts_;
  int64_t warmup_steps_ = 0;
  int64_t total_steps_ = 0;
};

}  // namespace frugal
