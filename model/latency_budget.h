// The stage count that keeps a stream inside a latency budget: fewer recurrent stages when frames
// run late, more again when there is time, with hysteresis so that the count does not flap.
// Torch-free: the element feeds it each frame's time and the lateness QoS reports.
#pragma once

namespace sapnet {

struct LatencyBudgetSettings {
  double budget_ms = 0;  // the most one frame may take; 0 = no budget (always the most stages)
  int fall_after = 2;    // frames over the budget (or reported late) in a row before a fall
  int climb_after = 10;  // frames with room for one more stage in a row before a climb
  // Room for one more stage: the frame's time scaled to one more stage stays under this share of
  // the budget (below 1, so that a climb is not followed at once by a fall).
  double climb_margin = 0.8;
};

class LatencyBudget {
 public:
  LatencyBudget() = default;
  explicit LatencyBudget(const LatencyBudgetSettings &settings) : settings_(settings) {}

  // The stages allowed: 1..most (most = the model's count or the user's `stages`). A new ceiling
  // starts there again.
  void set_most_stages(int most);
  void set_settings(const LatencyBudgetSettings &settings);
  const LatencyBudgetSettings &settings() const { return settings_; }

  // One frame ran `stages_run` stages in `ms`; `late` when downstream reported lateness (QoS)
  // since the previous frame. Returns the stages for the next frame.
  int update(int stages_run, double ms, bool late);

  int stages() const { return stages_; }
  // Back to the ceiling, counters cleared (new stream, flush, new budget).
  void reset();

 private:
  LatencyBudgetSettings settings_;
  int most_ = 1;
  int stages_ = 1;
  int over_ = 0, room_ = 0;  // consecutive frames over the budget / with room to climb
};

}  // namespace sapnet
