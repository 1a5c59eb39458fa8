#include "outbox/idempotency_key.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace rws {
namespace {

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::uint64_t max_timestamp_ms = (std::uint64_t{1} << 48) - 1;

inline std::uint32_t rotl(std::uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void quarter_round(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c, std::uint32_t& d) {
  a += b; d ^= a; d = rotl(d, 16);
  c += d; b ^= c; b = rotl(b, 12);
  a += b; d ^= a; d = rotl(d, 8);
  c += d; b ^= c; b = rotl(b, 7);
}

// Entropy for the seed. getrandom() blocks only until the kernel pool is initialised at boot;
// /dev/urandom covers kernels older than 3.17. The last resort (no entropy source at all, e.g. a
// broken chroot) still yields keys unique per process and time, just not unpredictable ones.
void fill_seed(std::uint8_t* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::getrandom(out + got, size - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (got == size) return;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (got < size) {
      ssize_t n = ::read(fd, out + got, size - got);
      if (n > 0) {
        got += static_cast<std::size_t>(n);
      } else if (!(n < 0 && errno == EINTR)) {
        break;
      }
    }
    ::close(fd);
  }
  if (got == size) return;
  const std::uint64_t mix[3] = {
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
      static_cast<std::uint64_t>(::getpid()), reinterpret_cast<std::uintptr_t>(out)};
  for (std::size_t i = got; i < size; ++i) {
    out[i] = static_cast<std::uint8_t>(mix[i % 3] >> (8 * ((i / 3) % 8)));
  }
}

}  // namespace

idempotency_key_generator::idempotency_key_generator() {
  std::array<std::uint8_t, 32> seed{};
  fill_seed(seed.data(), seed.size());
  *this = idempotency_key_generator(seed);
  std::memset(seed.data(), 0, seed.size());
}

idempotency_key_generator::idempotency_key_generator(const std::array<std::uint8_t, 32>& seed) {
  // ChaCha20 (RFC 8439 layout): "expand 32-byte k", 256-bit key, 64-bit block counter, zero
  // nonce. A fresh key per generator means the nonce never needs to vary.
  chacha_state_[0] = 0x61707865u;
  chacha_state_[1] = 0x3320646eu;
  chacha_state_[2] = 0x79622d32u;
  chacha_state_[3] = 0x6b206574u;
  for (std::size_t i = 0; i < 8; ++i) {
    chacha_state_[4 + i] = std::uint32_t{seed[4 * i]} | (std::uint32_t{seed[4 * i + 1]} << 8) |
                           (std::uint32_t{seed[4 * i + 2]} << 16) |
                           (std::uint32_t{seed[4 * i + 3]} << 24);
  }
}

void idempotency_key_generator::refill() {
  std::array<std::uint32_t, 16> x = chacha_state_;
  for (int i = 0; i < 10; ++i) {
    quarter_round(x[0], x[4], x[8], x[12]);
    quarter_round(x[1], x[5], x[9], x[13]);
    quarter_round(x[2], x[6], x[10], x[14]);
    quarter_round(x[3], x[7], x[11], x[15]);
    quarter_round(x[0], x[5], x[10], x[15]);
    quarter_round(x[1], x[6], x[11], x[12]);
    quarter_round(x[2], x[7], x[8], x[13]);
    quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (std::size_t i = 0; i < 16; ++i) block_[i] = x[i] + chacha_state_[i];
  if (++chacha_state_[12] == 0) ++chacha_state_[13];  // 64-bit block counter
  block_used_ = 0;
}

std::uint64_t idempotency_key_generator::random_u64() {
  if (block_used_ + 2 > block_.size()) refill();
  std::uint64_t v = std::uint64_t{block_[block_used_]} | (std::uint64_t{block_[block_used_ + 1]} << 32);
  block_used_ += 2;
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
