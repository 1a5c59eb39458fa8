#include "session/wake_detector.hpp"

#include <gtest/gtest.h>

namespace rws {
namespace {

TEST(WakeDetector, QuietWhenClocksAdvanceTogether) {
  wake_detector d;
  d.reset({1000, 5000});
  EXPECT_FALSE(d.observe({2000, 6000}, 2000));
  EXPECT_FALSE(d.observe({3000, 7000}, 2900));
}

TEST(WakeDetector, SuspendMovesBoottimeAheadOfMonotonic) {
  wake_detector d;
  d.reset({1000, 5000});
  // Monotonic stood still for the 30 s the machine slept; boottime kept counting.
  EXPECT_TRUE(d.observe({2000, 36000}, 2000));
  EXPECT_FALSE(d.observe({3000, 37000}, 3000));  // once noticed, it is not reported again
}

TEST(WakeDetector, TimerFiringFarTooLateCounts) {
  wake_detector d;
  d.reset({1000, 5000});
  EXPECT_TRUE(d.observe({10000, 14000}, 2000));  // due at 2 s, fired at 10 s (process frozen)
  EXPECT_FALSE(d.observe({11000, 15000}, 10900));
}

}  // namespace
}  // namespace rws
