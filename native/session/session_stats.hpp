#pragma once
// Counters written by the io thread and read by stats() on the JavaScript thread. Relaxed
// atomics: each value is a single word and stats() needs no cross-field consistency.
#include <atomic>
#include <cstdint>

namespace rws {

struct session_stats {
  std::atomic<std::uint64_t> connects{0};      // successful opens
  std::atomic<std::uint64_t> reconnects{0};    // opens after the first
  std::atomic<std::uint64_t> attempt{0};       // current attempt number since the last stable connection
  // steady_clock ms from which the open connection counts as stable, -1 while none is open:
  // stats() reads `attempt` as 0 from then on (the session resets it only when the connection
  // ends, without a timer per socket).
  std::atomic<std::int64_t> stable_at_ms{-1};
  std::atomic<std::int64_t> last_rtt_us{-1};
  std::atomic<std::uint64_t> disconnected_ms{0};  // total time not open, up to the last open
  // steady_clock ms when the current time without a connection began, -1 while open; stats()
  // adds the running stretch so "time spent disconnected" is current, not as of the last open.
  std::atomic<std::int64_t> disconnected_since_ms{-1};
  std::atomic<std::uint64_t> messages_in{0}, bytes_in{0};
  std::atomic<std::uint64_t> messages_out{0}, bytes_out{0};
  std::atomic<std::uint64_t> duplicates_dropped{0};
  std::atomic<std::uint64_t> id_gaps{0};        // numeric ids that jumped
  std::atomic<std::uint64_t> ids_missing{0};    // sum of the jumps
  // Messages in the outbox plus send() batches on their way to it: one counter, so a reader never
  // sees a batch counted twice or not at all. The binding adds a batch when JavaScript hands it
  // over; the session then moves it by the outbox's change minus the batch (one fetch_add).
  std::atomic<std::uint64_t> outbox_size{0};
  std::atomic<std::uint64_t> outbox_bytes{0};
  std::atomic<std::uint64_t> outbox_disk_bytes{0};  // segment files of the file outbox
  std::atomic<std::uint64_t> outbox_dropped{0};     // evicted by onFull 'drop-oldest'
  std::atomic<std::uint64_t> network_changes{0};    // rtnetlink changes that probed the connection
  std::atomic<std::uint64_t> buffered_amount{0};
  std::atomic<std::uint64_t> heartbeats_sent{0};
  std::atomic<std::uint64_t> wakeups_detected{0};
  std::atomic<std::uint64_t> torn_bytes_truncated{0};
};

}  // namespace rws
