#include "outbox/idempotency_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_set>
#include <vector>

namespace rws {
namespace {

bool is_crockford(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' &&
                                    c != 'U');
}

TEST(IdempotencyKey, ShapeAndTimestamp) {
  idempotency_key_generator gen;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string key = gen.next();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  ASSERT_EQ(key.size(), idempotency_key_size);
  EXPECT_LE(key[0], '7');
  for (char c : key) EXPECT_TRUE(is_crockford(c)) << key;
  const auto ms = ulid_timestamp_ms(key);
  ASSERT_TRUE(ms.has_value());
  EXPECT_GE(*ms, static_cast<std::uint64_t>(before));
  EXPECT_LE(*ms, static_cast<std::uint64_t>(after));
}

TEST(IdempotencyKey, KnownEncoding) {
  // The time prefix is plain base32 of the 48-bit ms value, as in the ULID spec.
  idempotency_key_generator gen;
  EXPECT_EQ(gen.next(0).substr(0, 10), "0000000000");
  idempotency_key_generator gen2;
  EXPECT_EQ(gen2.next(1469918176385).substr(0, 10), "01ARYZ6S41");  // ULID spec example
  EXPECT_EQ(ulid_timestamp_ms("01ARYZ6S41TSV4RRFFQ69G5FAV"), 1469918176385u);
  EXPECT_EQ(ulid_timestamp_ms("01aryz6s41tsv4rrffq69g5fav"), 1469918176385u);
  EXPECT_FALSE(ulid_timestamp_ms("81ARYZ6S41TSV4RRFFQ69G5FAV").has_value());  // overflow
  EXPECT_FALSE(ulid_timestamp_ms("01ARYZ6S41TSV4RRFFQ69G5FA").has_value());   // short
  EXPECT_FALSE(ulid_timestamp_ms("01ARYZ6S41TSV4RRFFQ69G5FAU").has_value());  // U not used
}

TEST(IdempotencyKey, MillionKeysStrictlyIncreasingAndUnique) {
  idempotency_key_generator gen;
  std::vector<std::string> keys;
  keys.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) keys.push_back(gen.next());
  for (std::size_t i = 1; i < keys.size(); ++i) {
    ASSERT_LT(keys[i - 1], keys[i]) << "at " << i;  // sorted in send order, hence also unique
  }
}

TEST(IdempotencyKey, MonotonicWithinOneMillisecondAndWhenTheClockStepsBack) {
  idempotency_key_generator gen;
  std::string last = gen.next(1'700'000'000'000);
  for (int i = 0; i < 10'000; ++i) {
    const std::string key = gen.next(1'700'000'000'000);
    ASSERT_LT(last, key);
    last = key;
  }
  const std::string back = gen.next(1'600'000'000'000);  // wall clock stepped back
  EXPECT_LT(last, back);
  EXPECT_EQ(ulid_timestamp_ms(back), 1'700'000'000'000u);
  const std::string later = gen.next(1'700'000'000'001);
  EXPECT_LT(back, later);
  EXPECT_EQ(ulid_timestamp_ms(later), 1'700'000'000'001u);
}

TEST(IdempotencyKey, IndependentGeneratorsDoNotCollide) {
  // Same millisecond, separately seeded (as two processes or a restart would be).
  std::unordered_set<std::string> seen;
  for (int g = 0; g < 100; ++g) {
    idempotency_key_generator gen;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(seen.insert(gen.next(1'700'000'000'000)).second);
  }
}

// A fake random source: every byte 0xAB, and a count of how often it was asked.
int fake_source_calls = 0;
bool fake_source(std::uint8_t* out, std::size_t size) {
  ++fake_source_calls;
  std::fill(out, out + size, std::uint8_t{0xAB});
  return true;
}

TEST(IdempotencyKey, RandomBytesComeFromTheSourceInBatches) {
  // Pins the batching: random bytes are drawn in blocks (256 bytes = 16 draws of 64 bits), not
  // one call into OpenSSL per key. A key at a new millisecond draws 2 x 64 bits.
  fake_source_calls = 0;
  idempotency_key_generator gen(fake_source);
  std::string key;
  for (std::uint64_t i = 0; i < 800; ++i) key = gen.next(1'700'000'000'000u + i);
  EXPECT_EQ(fake_source_calls, 50);  // 800 keys x 16 bytes / 256 bytes per call
  // 0xABAB... as the low 64 bits and 0xABAB as the top 16 of the 80 random bits.
  EXPECT_EQ(key.substr(10), "NENTQAXBNENTQAXB");
  EXPECT_EQ(ulid_timestamp_ms(key), 1'700'000'000'799u);
}

}  // namespace
}  // namespace rws
