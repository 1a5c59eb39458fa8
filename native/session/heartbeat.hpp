#pragma once
// Dead-peer detection as a pure decision: given the time, when the last inbound frame
// arrived and what the wake detector's clocks say, what to do now and when to look again. The
// session owns the timer and the connection and does what this says, so the rules are
// unit-tested without sockets or sleeping.
//
// Rules: after `interval` without any inbound frame, probe; if nothing at all arrives within
// `timeout` of the probe, the connection is dead (worst case interval + timeout after the last
// inbound byte). After a suspend or a far-too-late timer, probe at once with the normal timeout.
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "session/heartbeat_config.hpp"
#include "session/wake_detector.hpp"

namespace rws {

struct heartbeat_step {
  enum class action : std::uint8_t { wait, probe, dead };
  action what = action::wait;
  std::chrono::milliseconds next_check{0};  // arm the timer for this long (unless dead)
  bool woke = false;                        // a suspend or a late timer was noticed
  std::chrono::milliseconds silent{0};      // dead: time since the last inbound frame
};

class heartbeat {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit heartbeat(const heartbeat_config& config)
      : interval_ms_(config.interval_ms), timeout_ms_(config.timeout_ms) {}

  // A connection opened: returns when to look first.
  std::chrono::milliseconds start(time_point now, clock_reading clocks) {
    (void)now;
    awaiting_ = false;
    wake_.reset(clocks);
    return schedule(interval(), clocks);
  }

  // The timer fired, or (`woke_elsewhere`) the io thread's shared wake detector
  // (session/wake_service.hpp) saw a suspend or a frozen process: with a 15-60 s interval this
  // timer alone would notice that only at the end of the interval.
  heartbeat_step on_timer(time_point now, time_point last_inbound, clock_reading clocks, bool woke_elsewhere = false) {
    using std::chrono::milliseconds;
    heartbeat_step step;
    step.woke = wake_.observe(clocks, due_monotonic_ms_) || woke_elsewhere;
    if (awaiting_ && last_inbound > probe_sent_at_) awaiting_ = false;  // any frame counts
    const milliseconds timeout{timeout_ms_}, interval{interval_ms_};
    if (awaiting_ && !step.woke) {
      auto waited = std::chrono::duration_cast<milliseconds>(now - probe_sent_at_);
      if (waited >= timeout) {
        step.what = heartbeat_step::action::dead;
        step.silent = std::chrono::duration_cast<milliseconds>(now - last_inbound);
        return step;
      }
      step.next_check = schedule(timeout - waited, clocks);
      return step;
    }
    auto idle = std::chrono::duration_cast<milliseconds>(now - last_inbound);
    const bool asked = std::exchange(probe_asked_, false);
    if (step.woke || asked || idle >= interval) {
      // After a suspend or a network change the socket may be long dead: probe at once with the
      // normal timeout.
      step.what = heartbeat_step::action::probe;
      awaiting_ = true;
      probe_sent_at_ = now;
      step.next_check = schedule(timeout, clocks);
    } else {
      step.next_check = schedule(interval - idle, clocks);
    }
    return step;
  }

  // Something outside (a network change that concerns this connection) says the path may be
  // gone: the next timer probes at once, unless a probe is already out (its deadline stands).
  void ask_probe() { probe_asked_ = true; }

  // A pong (or the configured pong message) arrived: the round trip of our probe, if it was one.
  std::optional<double> on_pong(time_point now) {
    if (!awaiting_) return std::nullopt;
    awaiting_ = false;
    return std::chrono::duration<double, std::milli>(now - probe_sent_at_).count();
  }

  // Our probe was just answered: when to look next (one interval of silence from now). The
  // session re-arms with this at once instead of letting the probe's deadline fire only to learn
  // the answer came, which also keeps the next probe `interval` after the pong when the timeout
  // is longer than the interval.
  std::chrono::milliseconds after_answer(clock_reading clocks) {
    // A network change asked for a probe while this one was out: that probe goes now.
    if (probe_asked_) return schedule(std::chrono::milliseconds(0), clocks);
    return schedule(interval(), clocks);
  }

 private:
  // Only the heartbeat's own deadlines: an idle socket's timer fires once per interval, not once
  // a second (wake detection is shared per io thread).
  std::chrono::milliseconds schedule(std::chrono::milliseconds delay, clock_reading clocks) {
    due_monotonic_ms_ = clocks.monotonic_ms + delay.count();
    return delay;
  }

  std::chrono::milliseconds interval() const { return std::chrono::milliseconds(interval_ms_); }

  // Only the two durations, not the whole config (its ping and pong texts), and in the config's
  // 32 bits: one per socket.
  std::uint32_t interval_ms_;
  std::uint32_t timeout_ms_;
  wake_detector wake_;
  bool awaiting_ = false;  // a probe is out and nothing has arrived since
  bool probe_asked_ = false;
  time_point probe_sent_at_{};
  std::int64_t due_monotonic_ms_ = 0;  // when the timer should fire, on the wake detector's clock
};

}  // namespace rws
