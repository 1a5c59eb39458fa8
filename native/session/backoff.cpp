#include "session/backoff.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <utility>

namespace rws {
namespace {

// lib/ validates options, but a NaN or negative that slips through must not become a zero-delay
// retry storm or UB in a float-to-int conversion: NaN falls back to the field's default,
// negatives clamp to 0, anything above the global ceiling (including +inf) clamps to it.
double sanitize_delay(double value, double fallback) {
  if (std::isnan(value)) return fallback;
  return std::clamp(value, 0.0, max_backoff_delay_ms);
}

double sanitize_multiplier(double value) {
  if (std::isnan(value)) return backoff_config{}.multiplier;
  // Below 1 the "backoff" would speed up after each failure; treat it as a flat curve.
  return std::max(value, 1.0);
}

double sanitize_unit(double value) {
  if (!(value >= 0.0)) return 0.0;  // also catches NaN
  return std::min(value, 1.0);
}

// A seed of its own for each backoff: the clock, the instance's address and, where it works,
// random_device.
std::uint64_t random_seed(const void* salt) {
  std::uint64_t seed = static_cast<std::uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  seed ^= reinterpret_cast<std::uintptr_t>(salt);
  try {
    // random_device may throw where no entropy source exists; the clock/address mix above is
    // then still different per process and per instance, which is all jitter needs.
    std::random_device device;
    seed ^= (static_cast<std::uint64_t>(device()) << 32) | device();
  } catch (...) {
  }
  return seed;
}

}  // namespace

double backoff_delay_ms(const backoff_config& config, std::uint64_t attempt, double u) {
  const backoff_config defaults;
  const double initial = sanitize_delay(config.initial_delay_ms, defaults.initial_delay_ms);
  // An unset or infinite cap still stops at the global ceiling.
  const double cap = sanitize_delay(config.max_delay_ms, max_backoff_delay_ms);
  const double multiplier = sanitize_multiplier(config.multiplier);

  double delay = initial;
  if (attempt > 1 && initial > 0) {
    // pow is exact for integral powers of exactly representable bases (2^k, 1.5^k while the
    // mantissa holds), so the un-jittered curve hits round numbers. For huge n it returns +inf
    // (never NaN: base >= 1, initial > 0), which the cap below absorbs — attempt 2^63 behaves
    // exactly like attempt 50.
    const double growth = std::pow(multiplier, static_cast<double>(attempt - 1));
    delay = initial * growth;
  }
  delay = std::min(delay, cap);

  // Jitter after the cap: at the ceiling every client would otherwise wait exactly max_delay.
  const double r = sanitize_unit(u);
  double jittered = delay;
  switch (config.jitter) {
    case jitter_kind::full:
      jittered = r * delay;
      break;
    case jitter_kind::equal:
      jittered = delay / 2 + r * delay / 2;
      break;
    case jitter_kind::fraction: {
      const double f = sanitize_unit(config.jitter_fraction);
      jittered = delay * (1 - f + 2 * f * r);
      break;
    }
    case jitter_kind::none:
      break;
  }
  return std::clamp(jittered, 0.0, max_backoff_delay_ms);
}

backoff::backoff(const backoff_config& config, uniform_source uniform01, void* context)
    : config_(&config), uniform01_(uniform01) {
  if (uniform01_) {
    context_ = context;
  } else {
    random_state_ = random_seed(this);
  }
}

double backoff::uniform01() {
  if (uniform01_) return uniform01_(context_);
  // splitmix64: tiny, good enough for jitter, and needs no allocation.
  random_state_ += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = random_state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;  // 53 random bits -> [0,1)
}

std::uint64_t backoff::next_delay_ms() {
  if (immediate_armed_) {
    immediate_armed_ = false;
    return 0;
  }
  // Saturate rather than wrap: wrapping to 0 would restart the curve at the initial delay.
  if (attempt_ != UINT64_MAX) ++attempt_;
  const double delay = backoff_delay_ms(*config_, attempt_, uniform01());
  // delay is in [0, 2^31-1], so the conversion is always defined.
  return static_cast<std::uint64_t>(std::llround(delay));
}

void backoff::reset_after_stable() {
  attempt_ = 0;
  immediate_armed_ = config_->immediate;
}

}  // namespace rws
