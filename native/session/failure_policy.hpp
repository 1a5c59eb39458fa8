#pragma once
// What an ended attempt or connection means: give up ("failed" with a code), or try
// again no sooner than some delay. One pure function over plain values, so every rule is in one
// place and unit-tested (native/tests/session/failure_policy_test.cpp); the session only applies
// the verdict (backoff, retries left, reconnect.enabled, close() in progress).
#include <cstdint>
#include <string>
#include <vector>

#include "common/failure.hpp"

namespace rws {

// How one attempt or connection ended, as the connection reported it.
struct attempt_end {
  failure error;          // none: the server closed cleanly (or with a close code)
  bool opened = false;    // false: the attempt failed before the handshake completed
  int close_code = 1006;  // the close code received (1006: none)
  std::string reason;     // the close reason received
};

struct failure_verdict {
  bool terminal = false;  // true: no retry; the socket fails with `error`
  failure error;          // the classified failure (code and message may be refined)
  // Retry only: the server asked for at least this delay (Retry-After on 429/503); 0 otherwise.
  // The session waits max(backoff delay, min_delay_ms).
  std::int64_t min_delay_ms = 0;
  // The upgrade got a 3xx: terminal unless the session follows it (followRedirects).
  bool redirect = false;
};

// Terminal:
//   handshake 401/403 → ERR_AUTH; 400/404 → ERR_HANDSHAKE_REJECTED (the request itself is wrong);
//   3xx → ERR_HANDSHAKE_REJECTED with `redirect` set (retrying the same URL gets the same answer;
//   the session may follow the Location instead);
//   a TLS certificate refused → ERR_TLS_VERIFY (never a plaintext fallback, retrying is futile);
//   a proxy answering 407 → ERR_PROXY_AUTH (its credentials are wrong until someone fixes them);
//   a close code listed in stop_on_close_codes after a clean end → ERR_CLOSED_BY_SERVER.
// Retry: every other status (429/503 honour Retry-After; 5xx and the rest back off), DNS,
// refused, an unreachable proxy or a refused tunnel (ERR_PROXY), connect timeout, heartbeat timeout, a lost connection, protocol violations, oversize
// messages, and every close code not in the list.
failure_verdict classify_end(const attempt_end& end, const std::vector<std::uint16_t>& stop_on_close_codes);

}  // namespace rws
