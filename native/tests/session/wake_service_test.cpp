#include "session/wake_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace rws {
namespace {

using namespace std::chrono_literals;

// The shared detector reads these clocks; `boot_ahead_ms` simulates a suspend.
struct fake_clocks {
  std::int64_t boot_ahead_ms = 0;
  clock_reading read() const {
    auto now = read_system_clocks();
    now.boottime_ms += boot_ahead_ms;
    return now;
  }
};

// Counts the wakes it is told of into an int that outlives it.
struct counting_listener final : wake_listener {
  explicit counting_listener(int& calls) : calls(calls) {}
  void on_wake() override { ++calls; }
  int& calls;
};

class WakeServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  fake_clocks clocks;
  wake_service& service() {
    auto& s = wake_service::of(io);
    s.set_period(10ms);
    s.set_clock([this] { return clocks.read(); });
    return s;
  }
};

TEST_F(WakeServiceTest, OneSharedTimerTellsEveryListenerAboutASuspendOnce) {
  auto& s = service();
  int a_calls = 0, b_calls = 0;
  auto a = std::make_shared<counting_listener>(a_calls), b = std::make_shared<counting_listener>(b_calls);
  s.subscribe(a);
  s.subscribe(b);
  io.run_for(50ms);  // several ticks, clocks in step: nothing to report
  EXPECT_EQ(a_calls, 0);
  EXPECT_EQ(b_calls, 0);
  clocks.boot_ahead_ms = 30000;  // the machine slept 30 s
  io.run_for(50ms);
  EXPECT_EQ(a_calls, 1);
  EXPECT_EQ(b_calls, 1);
}

TEST_F(WakeServiceTest, TheTimerStopsWhenNobodyListensSoAnIdleThreadSleeps) {
  auto& s = service();
  int calls = 0;
  auto owner = std::make_shared<counting_listener>(calls);
  auto token = s.subscribe(owner);
  io.run_for(30ms);
  s.unsubscribe(token);
  // With the timer not re-armed, run() runs out of work and returns on its own.
  auto started = std::chrono::steady_clock::now();
  io.restart();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST_F(WakeServiceTest, AListenerThatDiedWithoutUnsubscribingIsDroppedAndNeverCalled) {
  auto& s = service();
  int calls = 0;
  auto owner = std::make_shared<counting_listener>(calls);
  s.subscribe(owner);
  owner.reset();
  clocks.boot_ahead_ms = 30000;
  io.restart();
  io.run();  // returns once the tick found no live listener
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST_F(WakeServiceTest, ADeadListenerIsDroppedWithinPruneEveryTicksWithoutAWake) {
  auto& s = service();
  int calls = 0;
  auto owner = std::make_shared<counting_listener>(calls);
  s.subscribe(owner);
  owner.reset();
  io.restart();
  io.run_for(2s);  // clocks in step: stops early once a periodic look found no live listener
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST_F(WakeServiceTest, OneServicePerIoContext) {
  boost::asio::io_context other;
  EXPECT_EQ(&wake_service::of(io), &wake_service::of(io));
  EXPECT_NE(&wake_service::of(io), &wake_service::of(other));
}

}  // namespace
}  // namespace rws
