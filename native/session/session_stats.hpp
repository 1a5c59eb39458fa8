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
  // Messages in the outbox plus send() batches on their way to it: one counter, so a reader never
  // sees a batch counted twice or not at all. The binding adds a batch when JavaScript hands it
  // over; the session then moves it by the outbox's change minus the batch (one fetch_add).
  std::atomic<std::uint64_t> outbox_size{0};
  std::atomic<std::uint64_t> outbox_bytes{0};
  std::atomic<std::uint64_t> buffered_amount{0};
  std::atomic<std::uint64_t> heartbeats_sent{0};

  // Counters of what most sockets never see, in a block made by the first of them: 8 bytes per
  // socket until then, not 64 (bench idle-5000: RSS).
  struct rare_counters {
    std::atomic<std::uint64_t> duplicates_dropped{0};
    std::atomic<std::uint64_t> id_gaps{0};            // numeric ids that jumped
    std::atomic<std::uint64_t> ids_missing{0};        // sum of the jumps
    std::atomic<std::uint64_t> outbox_disk_bytes{0};  // segment files of the file outbox
    std::atomic<std::uint64_t> outbox_dropped{0};     // evicted by onFull 'drop-oldest'
    std::atomic<std::uint64_t> network_changes{0};    // rtnetlink changes that probed the connection
    std::atomic<std::uint64_t> wakeups_detected{0};
    std::atomic<std::uint64_t> torn_bytes_truncated{0};
  };
  session_stats() = default;
  session_stats(const session_stats&) = delete;
  session_stats& operator=(const session_stats&) = delete;
  ~session_stats() { delete rare_.load(std::memory_order_acquire); }
  // io thread: the block, made if need be.
  rare_counters& rare() {
    rare_counters* r = rare_.load(std::memory_order_relaxed);
    if (!r) {
      r = new rare_counters;
      rare_.store(r, std::memory_order_release);  // published whole to readers on other threads
    }
    return *r;
  }
  // io thread: sets a rare counter, without making the block for a zero.
  void set_rare(std::atomic<std::uint64_t> rare_counters::*counter, std::uint64_t value) {
    if (value != 0 || rare_.load(std::memory_order_relaxed)) (rare().*counter).store(value, std::memory_order_relaxed);
  }
  // Any thread: a rare counter's value (0 before the block exists).
  std::uint64_t read_rare(std::atomic<std::uint64_t> rare_counters::*counter) const {
    const rare_counters* r = rare_.load(std::memory_order_acquire);
    return r ? (r->*counter).load(std::memory_order_relaxed) : 0;
  }

 private:
  std::atomic<rare_counters*> rare_{nullptr};  // written once, by the io thread
};

}  // namespace rws
