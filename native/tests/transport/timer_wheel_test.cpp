#include "transport/timer_wheel.hpp"

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

namespace rws {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Records when it fired into a shared log; `then` runs inside on_due.
struct recording_entry final : timer_wheel::entry {
  recording_entry(int name, std::vector<int>& log) : name(name), log(log) {}
  void on_due() override {
    log.push_back(name);
    if (then) then();
  }
  int name;
  std::vector<int>& log;
  std::function<void()> then;
};

class TimerWheelTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  std::vector<int> log;
  timer_wheel& wheel() { return timer_wheel::of(io); }
};

TEST_F(TimerWheelTest, EntriesFireInDueOrderAndOnlyOnce) {
  recording_entry a(1, log), b(2, log), c(3, log);
  const auto now = clock::now();
  wheel().arm(c, now + 30ms);
  wheel().arm(a, now + 10ms);
  wheel().arm(b, now + 20ms);
  io.run();  // returns once nothing is armed: the wheel keeps no work of its own
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(wheel().slot_count(), 0u);
}

TEST_F(TimerWheelTest, EntriesDueAtTheSameInstantShareOneSlotAndFireInArmingOrder) {
  recording_entry a(1, log), b(2, log), c(3, log);
  const auto due = clock::now() + 5ms;
  wheel().arm(b, due);
  wheel().arm(a, due);
  wheel().arm(c, due);
  EXPECT_EQ(wheel().slot_count(), 1u);
  io.run();
  EXPECT_EQ(log, (std::vector<int>{2, 1, 3}));
}

TEST_F(TimerWheelTest, NothingFiresBeforeItsDeadline) {
  recording_entry a(1, log);
  const auto due = clock::now() + 40ms;
  clock::time_point fired{};
  a.then = [&] { fired = clock::now(); };
  wheel().arm(a, due);
  io.run();
  EXPECT_GE(fired, due);
}

TEST_F(TimerWheelTest, CancelledAndDestroyedEntriesNeverFire) {
  recording_entry a(1, log), b(2, log);
  auto c = std::make_unique<recording_entry>(3, log);
  const auto now = clock::now();
  wheel().arm(a, now + 5ms);
  wheel().arm(b, now + 5ms);
  wheel().arm(*c, now + 10ms);
  a.cancel();
  c.reset();  // destroyed while armed: it unlinks itself
  EXPECT_FALSE(a.armed());
  io.run();
  EXPECT_EQ(log, (std::vector<int>{2}));
}

TEST_F(TimerWheelTest, ArmingAgainMovesTheDeadlineEarlierOrLater) {
  recording_entry a(1, log), b(2, log);
  const auto now = clock::now();
  wheel().arm(a, now + 5ms);
  wheel().arm(b, now + 10ms);
  wheel().arm(a, now + 20ms);  // later: b goes first
  EXPECT_EQ(wheel().slot_count(), 2u);  // the slot a left was the one waited for: dropped at once
  wheel().arm(b, now + 1h);
  wheel().arm(b, now + 15ms);  // back again: the wheel must not wait an hour
  const auto started = clock::now();
  io.run();
  EXPECT_LT(clock::now() - started, 10s);
  EXPECT_EQ(log, (std::vector<int>{2, 1}));
}

TEST_F(TimerWheelTest, AtOnceRunsOnTheNextTurnBeforeEverythingElse) {
  recording_entry a(1, log), b(2, log);
  wheel().arm(a, clock::now() + 5ms);
  wheel().arm(b, timer_wheel::at_once);
  io.run();
  EXPECT_EQ(log, (std::vector<int>{2, 1}));
}

TEST_F(TimerWheelTest, AnEntryMayRearmItselfAndCancelOthersFromOnDue) {
  recording_entry a(1, log), b(2, log), c(3, log);
  const auto due = clock::now() + 5ms;
  int turns = 0;
  a.then = [&] {
    b.cancel();  // due in the same slot, not fired yet: must not fire
    if (++turns < 3) wheel().arm(a, timer_wheel::at_once);
  };
  wheel().arm(a, due);
  wheel().arm(b, due);
  wheel().arm(c, due + 5ms);
  io.run();
  EXPECT_EQ(log, (std::vector<int>{1, 1, 1, 3}));
}

TEST_F(TimerWheelTest, AnEntryThatKeepsArmingAtOnceLetsOtherHandlersRun) {
  recording_entry a(1, log);
  int posted_ran = 0;
  a.then = [&] {
    if (posted_ran == 0) wheel().arm(a, timer_wheel::at_once);
  };
  wheel().arm(a, timer_wheel::at_once);
  boost::asio::post(io, [&] { ++posted_ran; });
  io.run();
  EXPECT_EQ(posted_ran, 1);
  EXPECT_GE(log.size(), 1u);
}

TEST_F(TimerWheelTest, EntriesOutlivingTheIoContextCancelSafely) {
  auto io2 = std::make_unique<boost::asio::io_context>();
  recording_entry a(1, log);
  timer_wheel::of(*io2).arm(a, clock::now() + 1h);
  io2.reset();  // shutdown unlinks every entry
  EXPECT_FALSE(a.armed());
  a.cancel();  // and a later cancel (or destructor) touches nothing
  EXPECT_TRUE(log.empty());
}

TEST_F(TimerWheelTest, OneWheelPerIoContext) {
  boost::asio::io_context other;
  EXPECT_EQ(&timer_wheel::of(io), &timer_wheel::of(io));
  EXPECT_NE(&timer_wheel::of(io), &timer_wheel::of(other));
}

}  // namespace
}  // namespace rws
