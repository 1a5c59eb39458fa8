#pragma once
// Generated idempotency keys (SPEC §7): ULIDs — 48-bit Unix time in ms + 80 random bits, written
// as 26 Crockford base32 characters. The time prefix makes keys sort in creation order (so the
// server and a human reading its logs can tell old from new); the 80 random bits make keys from
// different processes and restarts collide with negligible probability, without coordination or
// any state on disk. Within one generator keys are strictly increasing even inside one
// millisecond or when the wall clock steps back: the random part is then incremented instead of
// redrawn (the ULID "monotonic" variant), so keys sort in send order.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rws {

inline constexpr std::size_t idempotency_key_size = 26;

// Not thread-safe: one generator per session, used on the io thread. Not fork-safe either: a
// forked child that kept using the parent's generator would repeat the parent's keys (Node never
// forks a process that runs the addon; child_process always execs).
class idempotency_key_generator {
 public:
  // Seeds a ChaCha20 stream once from getrandom() (falls back to /dev/urandom), so each key does
  // not cost a system call.
  idempotency_key_generator();
  // Deterministic stream, for tests only.
  explicit idempotency_key_generator(const std::array<std::uint8_t, 32>& seed);

  // Next key at the current wall-clock time (std::chrono::system_clock).
  std::string next();
  // Next key as if the time were unix_ms (the injectable clock).
  std::string next(std::uint64_t unix_ms);

 private:
  void refill();
  std::uint64_t random_u64();

  std::array<std::uint32_t, 16> chacha_state_{};  // key, counter, nonce of the random stream
  std::array<std::uint32_t, 16> block_{};         // the current 64 bytes of output
  std::size_t block_used_ = 16;                   // words of block_ already handed out

  std::uint64_t last_ms_ = 0;
  std::uint16_t rand_hi_ = 0;  // the 80 random bits: top 16
  std::uint64_t rand_lo_ = 0;  //                     low 64
  bool started_ = false;
};

// The millisecond timestamp of a well-formed ULID (26 Crockford base32 characters, case
// insensitive, first character <= '7'); nullopt for anything else.
std::optional<std::uint64_t> ulid_timestamp_ms(std::string_view key);

}  // namespace rws
