#include "session/backoff.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace rws {
namespace {

backoff_config no_jitter(double initial = 1000, double max = 30000, double multiplier = 2) {
  backoff_config config;
  config.initial_delay_ms = initial;
  config.max_delay_ms = max;
  config.multiplier = multiplier;
  config.jitter = jitter_kind::none;
  return config;
}

// A seeded source so the statistical tests are reproducible.
struct seeded_uniform {
  std::mt19937_64 engine{20240607};
  std::uniform_real_distribution<double> dist{0.0, 1.0};
  double operator()() { return dist(engine); }
};

TEST(BackoffCurve, ExactValuesWithoutJitter) {
  const backoff_config config = no_jitter();
  const std::array<double, 8> expected = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff_delay_ms(config, i + 1, 0.5), expected[i]) << "attempt " << i + 1;
  }
}

TEST(BackoffCurve, AttemptZeroIsTreatedAsOne) {
  EXPECT_EQ(backoff_delay_ms(no_jitter(), 0, 0.5), 1000);
}

TEST(BackoffCurve, NonIntegerMultiplier) {
  const backoff_config config = no_jitter(100, 1e6, 1.5);
  EXPECT_EQ(backoff_delay_ms(config, 1, 0), 100);
  EXPECT_EQ(backoff_delay_ms(config, 2, 0), 150);
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 225);
  EXPECT_EQ(backoff_delay_ms(config, 4, 0), 337.5);
}

TEST(BackoffCurve, CapIsExact) {
  const backoff_config config = no_jitter(1000, 5000);
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 4000);
  EXPECT_EQ(backoff_delay_ms(config, 4, 0), 5000);  // 8000 capped
  EXPECT_EQ(backoff_delay_ms(config, 60, 0), 5000);
}

TEST(BackoffCurve, HugeAttemptsStayFiniteAndCapped) {
  for (jitter_kind kind : {jitter_kind::none, jitter_kind::full, jitter_kind::equal}) {
    backoff_config config = no_jitter();
    config.jitter = kind;
    for (std::uint64_t n : {std::uint64_t{64}, std::uint64_t{1025}, std::uint64_t{10'000},
                            std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max()}) {
      const double d = backoff_delay_ms(config, n, 0.999);
      ASSERT_TRUE(std::isfinite(d)) << n;
      // Same as at the cap, bit for bit: huge n must behave like attempt 6.
      EXPECT_EQ(d, backoff_delay_ms(config, 6, 0.999)) << n;
    }
  }
  EXPECT_EQ(backoff_delay_ms(no_jitter(), 10'000, 0), 30000);
  EXPECT_EQ(backoff_delay_ms(no_jitter(), std::numeric_limits<std::uint64_t>::max(), 0), 30000);
}

TEST(BackoffCurve, HugeMultiplierStaysCapped) {
  const backoff_config config = no_jitter(1000, 30000, 1e300);
  EXPECT_EQ(backoff_delay_ms(config, 2, 0), 30000);
  EXPECT_EQ(backoff_delay_ms(config, 10'000, 0), 30000);
}

TEST(BackoffCurve, MultiplierOneIsFlat) {
  const backoff_config config = no_jitter(750, 30000, 1);
  for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{100},
                          std::numeric_limits<std::uint64_t>::max()}) {
    EXPECT_EQ(backoff_delay_ms(config, n, 0), 750) << n;
  }
}

TEST(BackoffCurve, InitialAboveMaxIsCappedFromTheStart) {
  const backoff_config config = no_jitter(60000, 30000);
  EXPECT_EQ(backoff_delay_ms(config, 1, 0), 30000);
  EXPECT_EQ(backoff_delay_ms(config, 2, 0), 30000);
}

TEST(BackoffCurve, InitialZeroStaysZero) {
  // 0 · inf would be NaN; the curve must stay at 0 instead.
  const backoff_config config = no_jitter(0, 30000);
  EXPECT_EQ(backoff_delay_ms(config, std::numeric_limits<std::uint64_t>::max(), 0), 0);
}

TEST(BackoffCurve, BadNumbersNeverProduceNaNOrNegatives) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::array<double, 6> values = {nan, inf, -inf, -5, 0, 0.5};
  for (double initial : values) {
    for (double max : values) {
      for (double multiplier : values) {
        for (jitter_kind kind : {jitter_kind::full, jitter_kind::equal, jitter_kind::fraction,
                                 jitter_kind::none}) {
          backoff_config config{initial, max, multiplier, kind, 0.5, true};
          for (double u : {nan, -1.0, 0.0, 0.5, 1.0, 2.0}) {
            for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{3},
                                    std::numeric_limits<std::uint64_t>::max()}) {
              const double d = backoff_delay_ms(config, n, u);
              ASSERT_TRUE(std::isfinite(d));
              ASSERT_GE(d, 0);
              ASSERT_LE(d, max_backoff_delay_ms);
            }
          }
        }
      }
    }
  }
  // NaN falls back to the defaults rather than to 0 (no retry storm).
  backoff_config config = no_jitter(nan, nan, nan);
  EXPECT_EQ(backoff_delay_ms(config, 1, 0), 1000);
  EXPECT_EQ(backoff_delay_ms(config, 2, 0), 2000);
  // An infinite cap stops at the global ceiling.
  EXPECT_EQ(backoff_delay_ms(no_jitter(1000, inf), 100, 0), max_backoff_delay_ms);
}

TEST(BackoffCurve, JitterBounds) {
  backoff_config config = no_jitter(1000, 30000);
  config.jitter = jitter_kind::full;
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 0);
  EXPECT_EQ(backoff_delay_ms(config, 3, 0.5), 2000);
  config.jitter = jitter_kind::equal;
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 2000);
  EXPECT_EQ(backoff_delay_ms(config, 3, 0.5), 3000);
  config.jitter = jitter_kind::fraction;
  config.jitter_fraction = 0.2;
  EXPECT_DOUBLE_EQ(backoff_delay_ms(config, 3, 0), 3200);
  EXPECT_DOUBLE_EQ(backoff_delay_ms(config, 3, 0.5), 4000);
  EXPECT_DOUBLE_EQ(backoff_delay_ms(config, 3, 1), 4800);
  config.jitter_fraction = 1;  // d ± d: never negative
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 0);
  config.jitter_fraction = 7;  // out of range: clamped to 1
  EXPECT_EQ(backoff_delay_ms(config, 3, 0), 0);
  config.jitter_fraction = 0;  // fraction 0 is no jitter
  EXPECT_EQ(backoff_delay_ms(config, 3, 0.9), 4000);
}

// Fills 10 equal buckets over [lo, hi) and checks each holds 10% ± 1.5% of the samples.
void expect_uniform(const std::vector<double>& samples, double lo, double hi) {
  std::array<std::size_t, 10> buckets{};
  for (double s : samples) {
    auto index = static_cast<std::size_t>((s - lo) / (hi - lo) * 10);
    if (index == 10) index = 9;  // s == hi, possible after rounding
    ASSERT_LT(index, buckets.size()) << s;
    ++buckets[index];
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const double share = static_cast<double>(buckets[i]) / static_cast<double>(samples.size());
    EXPECT_NEAR(share, 0.10, 0.015) << "bucket " << i;
  }
}

std::vector<double> sample(const backoff_config& config, std::uint64_t attempt, std::size_t n) {
  seeded_uniform uniform;
  std::vector<double> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(backoff_delay_ms(config, attempt, uniform()));
  return out;
}

TEST(BackoffDistribution, FullJitterAtTheCapIsUniform) {
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::full;
  const auto samples = sample(config, 50, 100'000);
  double sum = 0;
  double lo = samples.front();
  double hi = samples.front();
  for (double s : samples) {
    sum += s;
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  EXPECT_NEAR(sum / static_cast<double>(samples.size()), 15000, 150);
  EXPECT_GE(lo, 0);
  EXPECT_LE(hi, 30000);
  EXPECT_LT(lo, 100);    // the whole range is used
  EXPECT_GT(hi, 29900);
  expect_uniform(samples, 0, 30000);
}

TEST(BackoffDistribution, EqualJitterStaysInUpperHalf) {
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::equal;
  const auto samples = sample(config, 4, 100'000);  // d = 8000
  for (double s : samples) {
    ASSERT_GE(s, 4000);
    ASSERT_LE(s, 8000);
  }
  expect_uniform(samples, 4000, 8000);
}

TEST(BackoffDistribution, FractionJitterIsSymmetricAroundTheCurve) {
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::fraction;
  config.jitter_fraction = 0.2;
  const auto samples = sample(config, 50, 100'000);  // d = 30000 (cap); jitter may exceed it
  double sum = 0;
  for (double s : samples) {
    ASSERT_GE(s, 24000);
    ASSERT_LE(s, 36000);
    sum += s;
  }
  EXPECT_NEAR(sum / static_cast<double>(samples.size()), 30000, 100);
  expect_uniform(samples, 24000, 36000);
}

TEST(BackoffDistribution, FleetAtTheCeilingDoesNotClump) {
  // The reconnect-spread target: 1,000 clients, no 250 ms window holds more than 25% of them. With full jitter at
  // the cap (30 s) a window holds ~0.8% on average.
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::full;
  const auto samples = sample(config, 100, 1000);
  std::array<int, 120> windows{};
  for (double s : samples) ++windows[std::min<std::size_t>(static_cast<std::size_t>(s / 250), 119)];
  for (int count : windows) EXPECT_LE(count, 250);
}

TEST(Backoff, AdvancesTheCurve) {
  const backoff_config config = no_jitter();
  backoff b(config, [](void*) { return 0.5; });
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_EQ(b.next_delay_ms(), 1000u);
  EXPECT_EQ(b.attempt(), 1u);
  EXPECT_EQ(b.next_delay_ms(), 2000u);
  EXPECT_EQ(b.next_delay_ms(), 4000u);
  EXPECT_EQ(b.attempt(), 3u);
}

TEST(Backoff, FirstFailureEverBacksOff) {
  // Never connected yet: no immediate retry, even with immediate = true.
  backoff_config config = no_jitter();
  config.immediate = true;
  backoff b(config, [](void*) { return 0.0; });
  EXPECT_EQ(b.next_delay_ms(), 1000u);
}

TEST(Backoff, ImmediateRetryAfterStableConnection) {
  backoff_config config = no_jitter();
  config.immediate = true;
  backoff b(config, [](void*) { return 0.0; });
  for (int i = 0; i < 5; ++i) b.next_delay_ms();
  EXPECT_EQ(b.attempt(), 5u);
  b.reset_after_stable();
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_EQ(b.next_delay_ms(), 0u);  // at once
  EXPECT_EQ(b.attempt(), 0u);        // the curve did not move
  EXPECT_EQ(b.next_delay_ms(), 1000u);
  EXPECT_EQ(b.attempt(), 1u);
  EXPECT_EQ(b.next_delay_ms(), 2000u);
}

TEST(Backoff, ImmediateIsUsedOnlyOncePerReset) {
  backoff_config config = no_jitter();
  backoff b(config, [](void*) { return 0.0; });
  b.reset_after_stable();
  b.reset_after_stable();  // two resets do not queue two immediate retries
  EXPECT_EQ(b.next_delay_ms(), 0u);
  EXPECT_EQ(b.next_delay_ms(), 1000u);
}

TEST(Backoff, ResetWithoutImmediate) {
  backoff_config config = no_jitter();
  config.immediate = false;
  backoff b(config, [](void*) { return 0.0; });
  b.next_delay_ms();
  b.next_delay_ms();
  b.reset_after_stable();
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_EQ(b.next_delay_ms(), 1000u);
  EXPECT_EQ(b.attempt(), 1u);
}

TEST(Backoff, UsesInjectedRandomSourceAndRounds) {
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::full;
  struct source {
    std::vector<double> values = {0.25, 0.0001, 0.99999};
    std::size_t next = 0;
  } random;
  backoff b(config, [](void* context) {
    auto& r = *static_cast<source*>(context);
    return r.values[r.next++];
  }, &random);
  EXPECT_EQ(b.next_delay_ms(), 250u);  // 0.25 · 1000
  EXPECT_EQ(b.next_delay_ms(), 0u);    // 0.2 ms rounds to 0
  EXPECT_EQ(b.next_delay_ms(), 4000u);  // 3999.96 rounds to 4000
  EXPECT_EQ(random.next, 3u);
}

TEST(Backoff, DefaultRandomSourceIsUniformAndPerInstance) {
  backoff_config config = no_jitter();
  config.jitter = jitter_kind::full;
  config.initial_delay_ms = 30000;
  backoff a(config, nullptr);
  backoff b(config, nullptr);
  int differing = 0;
  double sum = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t da = a.next_delay_ms();
    const std::uint64_t db = b.next_delay_ms();
    ASSERT_LE(da, 30000u);
    sum += static_cast<double>(da);
    differing += da != db;
  }
  EXPECT_NEAR(sum / 10'000, 15000, 600);
  EXPECT_GT(differing, 9'900);
}

TEST(Backoff, ManyAttemptsStayAtTheCap) {
  const backoff_config config = no_jitter();
  backoff b(config, [](void*) { return 0.0; });
  for (int i = 0; i < 100'000; ++i) ASSERT_LE(b.next_delay_ms(), 30000u);
  EXPECT_EQ(b.attempt(), 100'000u);
  EXPECT_EQ(b.next_delay_ms(), 30000u);
}

}  // namespace
}  // namespace rws
