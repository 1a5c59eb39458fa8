#pragma once
// Reconnect delays: an exponential curve capped at max_delay_ms, jittered after the
// cap so a fleet of clients that all hit the ceiling keeps spreading out instead of retrying in
// lockstep. Pure: no clock, no Asio; the random source is injected so tests can seed it.
#include <cstdint>

namespace rws {

enum class jitter_kind : std::uint8_t { full, equal, fraction, none };

// Already validated and defaulted by lib/; the functions below still
// tolerate out-of-range values (NaN, negatives, infinities) without UB, because a bad number here
// must never turn into a zero-delay retry storm or a crash.
struct backoff_config {
  double initial_delay_ms = 1000;
  double max_delay_ms = 30000;
  double multiplier = 2;
  jitter_kind jitter = jitter_kind::full;
  double jitter_fraction = 0;  // for jitter_kind::fraction, 0..1 (d ± fraction·d)
  bool immediate = true;       // first retry after a stable connection goes at once

  bool operator==(const backoff_config&) const = default;
};

// Upper bound of any delay this unit returns: 2^31-1 ms (~24.8 days), the largest timeout Node's
// setTimeout accepts. Keeps an unbounded maxDelay (Infinity) from overflowing a timer's duration.
inline constexpr double max_backoff_delay_ms = 2147483647.0;

// Pure curve: the delay before attempt n (n = 1 after the first failure; 0 is treated as 1)
// given u uniform in [0,1):
//   d = min(max_delay_ms, initial_delay_ms · multiplier^(n-1)), then jitter applied to d:
//   full: u·d;  equal: d/2 + u·d/2;  fraction f: d·(1 - f + 2·f·u);  none: d.
// Finite, non-negative and <= max_backoff_delay_ms for every n up to UINT64_MAX.
double backoff_delay_ms(const backoff_config& config, std::uint64_t attempt, double u);

// The stateful side of the curve, owned by the session (one per socket, io thread only).
class backoff {
 public:
  // A source of uniform random numbers in [0,1), called with the context given with it.
  using uniform_source = double (*)(void* context);

  // The configuration is referenced, not copied (sockets made with equal options share one):
  // it must outlive the backoff. A null uniform01 selects an internal generator seeded per
  // instance (so two sockets created together do not share a sequence).
  backoff(const backoff_config& config, uniform_source uniform01, void* context = nullptr);
  backoff(const backoff_config&& config, uniform_source uniform01, void* context = nullptr) = delete;

  // Delay in whole ms before the next attempt. Right after reset_after_stable() with
  // config.immediate it returns 0 once without advancing the curve (a stable connection that
  // dropped is most likely a server restart or network switch: retry at once); otherwise it
  // advances attempt() and returns backoff_delay_ms(attempt()) rounded to the nearest ms.
  std::uint64_t next_delay_ms();

  // The connection stayed open for reconnect.stableAfter ms: the curve starts over.
  void reset_after_stable();

  // Failed attempts since construction or the last reset (the n of the curve).
  std::uint64_t attempt() const { return attempt_; }

  const backoff_config& config() const { return *config_; }

 private:
  double uniform01();

  // 40 bytes in all: one per socket, and an idle fleet has thousands.
  const backoff_config* config_;
  uniform_source uniform01_;
  union {
    void* context_;               // uniform01_'s, when there is one
    std::uint64_t random_state_;  // else the internal generator's
  };
  std::uint64_t attempt_ = 0;
  // Not armed at construction: a socket that has never been open must back off from its first
  // failure, or a fleet started against a dead server would hammer it.
  bool immediate_armed_ = false;
};

}  // namespace rws
