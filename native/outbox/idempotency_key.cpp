#include "outbox/idempotency_key.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace rws {
namespace {

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::uint64_t max_timestamp_ms = (std::uint64_t{1} << 48) - 1;

bool openssl_random(std::uint8_t* out, std::size_t size) {
  return RAND_bytes(out, static_cast<int>(size)) == 1;
}

}  // namespace

idempotency_key_generator::idempotency_key_generator() : source_(openssl_random) {}

idempotency_key_generator::idempotency_key_generator(random_source source) : source_(source) {}

void idempotency_key_generator::refill() {
  if (!source_(random_.data(), random_.size())) {
    // OpenSSL could not seed (no entropy source at all, e.g. a broken chroot). Keys must still
    // be unique per process and time, just not unpredictable: mix in what varies.
    const std::uint64_t mix[3] = {
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
        static_cast<std::uint64_t>(::getpid()), reinterpret_cast<std::uintptr_t>(this)};
    for (std::size_t i = 0; i < random_.size(); ++i) {
      random_[i] ^= static_cast<std::uint8_t>(mix[i % 3] >> (8 * ((i / 3) % 8))) + static_cast<std::uint8_t>(i);
    }
  }
  used_ = 0;
}

std::uint64_t idempotency_key_generator::random_u64() {
  if (used_ + 8 > random_.size()) refill();
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{random_[used_ + i]} << (8 * i);
  used_ += 8;
  return v;
}

std::string idempotency_key_generator::next() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  return next(ms < 0 ? 0 : static_cast<std::uint64_t>(ms));
}

std::string idempotency_key_generator::next(std::uint64_t unix_ms) {
  if (unix_ms > max_timestamp_ms) unix_ms = max_timestamp_ms;
  if (!started_ || unix_ms > last_ms_) {
    last_ms_ = unix_ms;
    rand_lo_ = random_u64();
    rand_hi_ = static_cast<std::uint16_t>(random_u64());
    started_ = true;
  } else if (++rand_lo_ == 0 && ++rand_hi_ == 0) {
    // All 2^80 values of this millisecond are used (or the clock stepped back that far):
    // borrow the next millisecond rather than repeat a key. Unreachable in practice.
    if (last_ms_ < max_timestamp_ms) ++last_ms_;
    rand_lo_ = random_u64();
    rand_hi_ = static_cast<std::uint16_t>(random_u64());
  }

  // 128 bits = 48-bit time | 80-bit random, big-endian, as 26 base32 digits (the first digit
  // carries only 3 bits). Emitted least significant digit first.
  std::uint64_t hi = (last_ms_ << 16) | rand_hi_;
  std::uint64_t lo = rand_lo_;
  std::string key(idempotency_key_size, '0');
  for (std::size_t i = idempotency_key_size; i-- > 0;) {
    key[i] = crockford[lo & 31u];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return key;
}

std::optional<std::uint64_t> ulid_timestamp_ms(std::string_view key) {
  if (key.size() != idempotency_key_size) return std::nullopt;
  std::uint64_t ms = 0;
  for (std::size_t i = 0; i < idempotency_key_size; ++i) {
    char c = key[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const char* hit = std::strchr(crockford, c);
    if (c == '\0' || hit == nullptr) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(hit - crockford);
    if (i == 0 && digit > 7) return std::nullopt;  // would overflow 128 bits
    if (i < 10) ms = (ms << 5) | digit;            // the first 10 digits hold the 48-bit time
  }
  return ms;
}

}  // namespace rws
