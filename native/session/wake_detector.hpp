#pragma once
// Notices that the machine slept or the process was frozen, so the session can probe the
// connection at once instead of trusting a socket that may have died meanwhile. Pure: the
// caller passes readings of CLOCK_MONOTONIC (stops during suspend) and CLOCK_BOOTTIME (does
// not), so a test can simulate a suspend by moving one without the other.
#include <cstdint>
#include <ctime>

namespace rws {

struct clock_reading {
  std::int64_t monotonic_ms;
  std::int64_t boottime_ms;
};

inline clock_reading read_system_clocks() {
  timespec mono{}, boot{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return {mono.tv_sec * 1000 + mono.tv_nsec / 1000000, boot.tv_sec * 1000 + boot.tv_nsec / 1000000};
}

class wake_detector {
 public:
  // A suspend or a timer late by more than this is worth a probe; smaller drifts are noise.
  static constexpr std::int64_t threshold_ms = 2000;

  void reset(clock_reading now) {
    last_ = now;
    primed_ = true;
  }

  // Call when a timer fires that was due at `due_monotonic_ms`. True when the machine was
  // suspended since the last observation, or this timer fired far too late.
  bool observe(clock_reading now, std::int64_t due_monotonic_ms) {
    bool woke = false;
    if (primed_) {
      std::int64_t suspended = (now.boottime_ms - last_.boottime_ms) - (now.monotonic_ms - last_.monotonic_ms);
      woke = suspended > threshold_ms;
    }
    woke = woke || now.monotonic_ms - due_monotonic_ms > threshold_ms;
    reset(now);
    return woke;
  }

 private:
  clock_reading last_{};
  bool primed_ = false;
};

}  // namespace rws
