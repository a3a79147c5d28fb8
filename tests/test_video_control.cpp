// The controllers behind sapnetderain's video features, frame by frame with made-up timings: the
// latency budget (stages fall when frames are slow or late, climb back with hysteresis) and the
// rain gate (dry frames pass after a run of them; rain resumes deraining at once).
#include <gtest/gtest.h>

#include "latency_budget.h"
#include "rain_gate.h"

namespace sapnet {
namespace {

LatencyBudget budget_of(double ms, int most) {
  LatencyBudgetSettings s;
  s.budget_ms = ms;
  LatencyBudget b(s);
  b.set_most_stages(most);
  return b;
}

TEST(LatencyBudget, WithoutABudgetAlwaysTheMostStages) {
  LatencyBudget b = budget_of(0, 6);
  EXPECT_EQ(b.stages(), 6);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.update(6, 1e6, true), 6);
}

TEST(LatencyBudget, SlowFramesJumpToAStageCountThatFits) {
  LatencyBudget b = budget_of(30, 6);
  // 6 stages took 60 ms, twice the budget: after fall_after (2) such frames, 3 stages (6 * 30/60).
  EXPECT_EQ(b.update(6, 60, false), 6);
  EXPECT_EQ(b.update(6, 60, false), 3);
  // One frame over the budget, then one under: no fall (the run restarts).
  EXPECT_EQ(b.update(3, 31, false), 3);
  EXPECT_EQ(b.update(3, 20, false), 3);
  EXPECT_EQ(b.update(3, 31, false), 3);
  // Never below one stage, however slow.
  EXPECT_EQ(b.update(3, 1e6, false), 1);
  EXPECT_EQ(b.update(1, 1e6, false), 1);
  EXPECT_EQ(b.update(1, 1e6, false), 1);
}

TEST(LatencyBudget, LatenessReportedByQosCostsOneStageAtATime) {
  LatencyBudget b = budget_of(1000, 4);
  std::vector<int> seen;
  for (int i = 0; i < 8; ++i) seen.push_back(b.update(b.stages(), 1, true));
  EXPECT_EQ(seen, (std::vector<int>{4, 3, 3, 2, 2, 1, 1, 1}));
}

TEST(LatencyBudget, ClimbsBackOnlyAfterARunOfFramesWithRoom) {
  LatencyBudgetSettings s;
  s.budget_ms = 100;
  s.climb_after = 5;
  LatencyBudget b(s);
  b.set_most_stages(4);
  b.update(4, 300, false);
  ASSERT_EQ(b.update(4, 300, false), 1);
  // 1 stage in 45 ms: 2 stages would take 90 ms, over 80% of the budget: stay (hysteresis).
  for (int i = 0; i < 20; ++i) ASSERT_EQ(b.update(1, 45, false), 1);
  // 1 stage in 30 ms: 2 stages would take 60 ms: climb after 5 such frames, not before.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(b.update(1, 30, false), 1);
  EXPECT_EQ(b.update(1, 30, false), 2);
  // A late frame in the run starts it again.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(b.update(2, 40, false), 2);
  EXPECT_EQ(b.update(2, 40, true), 2);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(b.update(2, 40, false), 2);
  EXPECT_EQ(b.update(2, 40, false), 3);
  // Never above the ceiling.
  for (int i = 0; i < 50; ++i) b.update(b.stages(), 1, false);
  EXPECT_EQ(b.stages(), 4);
}

TEST(LatencyBudget, ANewCeilingOrResetStartsAtTheTop) {
  LatencyBudget b = budget_of(10, 6);
  b.update(6, 100, false);
  ASSERT_EQ(b.update(6, 100, false), 1);
  b.set_most_stages(3);
  EXPECT_EQ(b.stages(), 3);
  b.update(3, 100, false);
  ASSERT_EQ(b.update(3, 100, false), 1);
  b.reset();
  EXPECT_EQ(b.stages(), 3);
  // Switching the budget off gives the ceiling back at once.
  b.update(3, 100, false);
  ASSERT_EQ(b.update(3, 100, false), 1);
  b.set_settings(LatencyBudgetSettings{});
  EXPECT_EQ(b.stages(), 3);
}

TEST(RainGate, DryFramesPassAfterARunAndRainResumesAtOnce) {
  RainGate g(RainGateSettings{2.0, 3});
  std::vector<bool> derain;
  for (double score : {5.0, 1.0, 1.0, 1.0, 1.0, 0.5, 2.5, 1.0, 1.0, 1.0})
    derain.push_back(g.update(score));
  EXPECT_EQ(derain,
            (std::vector<bool>{true, true, true, false, false, false, true, true, true, false}));
  EXPECT_TRUE(g.passing_through());
  g.reset();
  EXPECT_FALSE(g.passing_through());
  EXPECT_TRUE(g.update(1.0));
}

TEST(RainGate, ZeroDryFramesPassesTheFirstDryFrame) {
  RainGate g(RainGateSettings{2.0, 0});
  EXPECT_FALSE(g.update(1.0));
  EXPECT_TRUE(g.update(2.0));  // the threshold itself counts as rain
}

}  // namespace
}  // namespace sapnet
