#pragma once
// Generated idempotency keys: ULIDs — 48-bit Unix time in ms + 80 random bits, written
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
// forked child that kept using the parent's buffered random bytes would repeat the parent's keys
// (Node never forks a process that runs the addon; child_process always execs).
class idempotency_key_generator {
 public:
  // Fills `size` bytes at out with random bytes; false when no entropy is available.
  using random_source = bool (*)(std::uint8_t* out, std::size_t size);

  // Random bytes from OpenSSL's CSPRNG (RAND_bytes), drawn 256 bytes at a time and consumed
  // from that buffer, so a key does not cost a call into OpenSSL (let alone a system call).
  idempotency_key_generator();
  // Another source of random bytes, for tests only.
  explicit idempotency_key_generator(random_source source);

  // Next key at the current wall-clock time (std::chrono::system_clock).
  std::string next();
  // Next key as if the time were unix_ms (the injectable clock).
  std::string next(std::uint64_t unix_ms);

 private:
  void refill();
  std::uint64_t random_u64();

  random_source source_;
  std::array<std::uint8_t, 256> random_{};  // random bytes not yet handed out: random_[used_..]
  std::size_t used_ = random_.size();

  std::uint64_t last_ms_ = 0;
  std::uint16_t rand_hi_ = 0;  // the 80 random bits: top 16
  std::uint64_t rand_lo_ = 0;  //                     low 64
  bool started_ = false;
};

// The millisecond timestamp of a well-formed ULID (26 Crockford base32 characters, case
// insensitive, first character <= '7'); nullopt for anything else.
std::optional<std::uint64_t> ulid_timestamp_ms(std::string_view key);

}  // namespace rws
