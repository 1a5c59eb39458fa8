#include "session/heartbeat.hpp"

#include <gtest/gtest.h>

namespace rws {
namespace {

using namespace std::chrono_literals;
using action = heartbeat_step::action;

class HeartbeatTest : public ::testing::Test {
 protected:
  heartbeat_config config() {
    heartbeat_config c;
    c.interval_ms = 300;
    c.timeout_ms = 200;
    return c;
  }
  // Clocks that advance together (no suspend), in step with `at`.
  clock_reading clocks(std::chrono::milliseconds at) { return {at.count(), 1'000'000 + at.count()}; }
  heartbeat::time_point t(std::chrono::milliseconds at) { return heartbeat::time_point{} + 10s + at; }
};

TEST_F(HeartbeatTest, ProbesAfterIntervalOfSilenceThenDeclaresDeadAfterTimeout) {
  heartbeat hb(config());
  EXPECT_EQ(hb.start(t(0ms), clocks(0ms)), 300ms);
  auto step = hb.on_timer(t(300ms), t(0ms), clocks(300ms));
  EXPECT_EQ(step.what, action::probe);
  EXPECT_EQ(step.next_check, 200ms);
  step = hb.on_timer(t(500ms), t(0ms), clocks(500ms));
  EXPECT_EQ(step.what, action::dead);
  EXPECT_EQ(step.silent, 500ms);  // interval + timeout after the last inbound frame
}

TEST_F(HeartbeatTest, AnAskedProbeGoesOutAtOnceWithTheNormalTimeout) {
  // A network change that concerns the connection: probe now instead of after the interval.
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  hb.ask_probe();
  auto step = hb.on_timer(t(20ms), t(10ms), clocks(20ms));
  EXPECT_EQ(step.what, action::probe);
  EXPECT_EQ(step.next_check, 200ms);
  step = hb.on_timer(t(220ms), t(10ms), clocks(220ms));
  EXPECT_EQ(step.what, action::dead);  // detected one timeout after the change, not interval + timeout
}

TEST_F(HeartbeatTest, AnAskedProbeKeepsTheDeadlineOfAProbeAlreadyOut) {
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  ASSERT_EQ(hb.on_timer(t(300ms), t(0ms), clocks(300ms)).what, action::probe);
  hb.ask_probe();
  auto step = hb.on_timer(t(350ms), t(0ms), clocks(350ms));
  EXPECT_EQ(step.what, action::wait);
  EXPECT_EQ(step.next_check, 150ms);  // still 200 ms after the first probe
}

TEST_F(HeartbeatTest, AnyInboundFrameCountsAsAnAnswer) {
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  ASSERT_EQ(hb.on_timer(t(300ms), t(0ms), clocks(300ms)).what, action::probe);
  // A data message (not a pong) arrived at 350 ms.
  auto step = hb.on_timer(t(500ms), t(350ms), clocks(500ms));
  EXPECT_EQ(step.what, action::wait);
  EXPECT_EQ(step.next_check, 150ms);  // next probe 300 ms after that frame
}

TEST_F(HeartbeatTest, TrafficPostponesTheProbe) {
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  auto step = hb.on_timer(t(300ms), t(250ms), clocks(300ms));
  EXPECT_EQ(step.what, action::wait);
  EXPECT_EQ(step.next_check, 250ms);
}

TEST_F(HeartbeatTest, PongGivesTheRoundTripOnlyForOurProbe) {
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  EXPECT_FALSE(hb.on_pong(t(100ms)));  // unsolicited
  ASSERT_EQ(hb.on_timer(t(300ms), t(0ms), clocks(300ms)).what, action::probe);
  auto rtt = hb.on_pong(t(342ms));
  ASSERT_TRUE(rtt);
  EXPECT_DOUBLE_EQ(*rtt, 42.0);
  EXPECT_FALSE(hb.on_pong(t(350ms)));
}

TEST_F(HeartbeatTest, AnAnsweredProbeLooksAgainOneIntervalAfterThePong) {
  auto c = config();
  c.interval_ms = 40;
  c.timeout_ms = 2000;  // longer than the interval: the next probe must not wait for it
  heartbeat hb(c);
  hb.start(t(0ms), clocks(0ms));
  ASSERT_EQ(hb.on_timer(t(40ms), t(0ms), clocks(40ms)).what, action::probe);
  ASSERT_TRUE(hb.on_pong(t(41ms)));
  EXPECT_EQ(hb.after_answer(clocks(41ms)), 40ms);
  auto step = hb.on_timer(t(81ms), t(41ms), clocks(81ms));
  EXPECT_FALSE(step.woke);  // the wake detector expected this timer at 81 ms
  EXPECT_EQ(step.what, action::probe);
}

TEST_F(HeartbeatTest, AProbeAskedForWhileOneWasOutGoesOutWhenThatOneIsAnswered) {
  heartbeat hb(config());
  hb.start(t(0ms), clocks(0ms));
  ASSERT_EQ(hb.on_timer(t(300ms), t(0ms), clocks(300ms)).what, action::probe);
  hb.ask_probe();  // the network changed; the probe out may have crossed the old path
  ASSERT_TRUE(hb.on_pong(t(310ms)));
  EXPECT_EQ(hb.after_answer(clocks(310ms)), 0ms);
  EXPECT_EQ(hb.on_timer(t(310ms), t(310ms), clocks(310ms)).what, action::probe);
}

TEST_F(HeartbeatTest, LongIntervalsWakeOnlyAtTheirDeadlinesAndProbeAtOnceWhenToldOfAWake) {
  // The timer of an idle socket fires once per interval; noticing a suspend sooner is the
  // shared wake detector's job (wake_service), which then calls on_timer with woke_elsewhere.
  auto c = config();
  c.interval_ms = 60000;
  c.timeout_ms = 300;
  heartbeat hb(c);
  EXPECT_EQ(hb.start(t(0ms), clocks(0ms)), 60000ms);
  auto step = hb.on_timer(t(2000ms), t(900ms), clocks(2000ms), /*woke_elsewhere=*/true);
  EXPECT_TRUE(step.woke);
  EXPECT_EQ(step.what, action::probe);
  EXPECT_EQ(step.next_check, 300ms);
  EXPECT_EQ(hb.on_timer(t(2300ms), t(900ms), clocks(2300ms)).what, action::dead);
}

TEST_F(HeartbeatTest, ASuspendSeenByItsOwnClocksStillProbes) {
  auto c = config();
  c.interval_ms = 60000;
  c.timeout_ms = 300;
  heartbeat hb(c);
  hb.start(t(0ms), clocks(0ms));
  // The machine slept 30 s: boottime ran on, monotonic did not.
  clock_reading after_sleep{2000, 1'000'000 + 32000};
  auto step = hb.on_timer(t(2000ms), t(900ms), after_sleep);
  EXPECT_TRUE(step.woke);
  EXPECT_EQ(step.what, action::probe);
}

}  // namespace
}  // namespace rws
