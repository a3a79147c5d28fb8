#include "latency_budget.h"

#include <algorithm>
#include <cmath>

namespace sapnet {

void LatencyBudget::set_most_stages(int most) {
  most = std::max(1, most);
  if (most == most_) return;
  most_ = most;
  reset();
}

void LatencyBudget::set_settings(const LatencyBudgetSettings &settings) {
  settings_ = settings;
  over_ = room_ = 0;
  if (settings_.budget_ms <= 0) stages_ = most_;
}

void LatencyBudget::reset() {
  stages_ = most_;
  over_ = room_ = 0;
}

int LatencyBudget::update(int stages_run, double ms, bool late) {
  if (settings_.budget_ms <= 0 || stages_run <= 0) return stages_ = most_;
  const double budget = settings_.budget_ms;
  if (late || ms > budget) {
    room_ = 0;
    if (++over_ < settings_.fall_after || stages_ <= 1) return stages_;
    over_ = 0;
    // Time grows about linearly with the stages: jump straight to a count that fits when the
    // frame was too slow, one stage at a time when only QoS complained.
    int target = stages_ - 1;
    if (ms > budget) target = std::min(target, int(std::floor(stages_run * budget / ms)));
    stages_ = std::max(1, target);
    return stages_;
  }
  over_ = 0;
  if (stages_ >= most_) return stages_;
  const double one_more = ms * (stages_run + 1) / stages_run;
  if (one_more > settings_.climb_margin * budget) {
    room_ = 0;
    return stages_;
  }
  if (++room_ >= settings_.climb_after) {
    room_ = 0;
    ++stages_;
  }
  return stages_;
}

}  // namespace sapnet
