#include "outbox/outbox_record.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace rws {
namespace {

std::string encode(record_type type, std::uint8_t flags, std::uint64_t seq, std::string_view key,
                   std::string_view payload) {
  std::string out;
  encode_record(out, type, flags, seq, key, payload);
  return out;
}

TEST(OutboxRecord, RoundTrip) {
  const std::string bytes =
      encode(record_type::data, record_flag_binary, 0x0102030405060708u, "key-1", "hello");
  ASSERT_EQ(bytes.size(), encoded_record_size(5, 5));
  // Little-endian header as documented.
  EXPECT_EQ(bytes.substr(0, 4), "RWS1");
  EXPECT_EQ(static_cast<unsigned char>(bytes[4]), bytes.size());
  EXPECT_EQ(bytes[12], 1);
  EXPECT_EQ(bytes[13], 1);
  EXPECT_EQ(bytes[14], 5);
  EXPECT_EQ(bytes[16], 0x08);
  EXPECT_EQ(bytes[23], 0x01);

  record_view rec;
  ASSERT_EQ(decode_record(bytes, rec), decode_status::ok);
  EXPECT_EQ(rec.type, record_type::data);
  EXPECT_TRUE(rec.binary());
  EXPECT_EQ(rec.seq, 0x0102030405060708u);
  EXPECT_EQ(rec.key, "key-1");
  EXPECT_EQ(rec.payload, "hello");
  EXPECT_EQ(rec.size, bytes.size());

  // Followed by more bytes: decodes just the first record.
  const std::string two = bytes + encode(record_type::delivered, 0, 9, {}, {});
  ASSERT_EQ(decode_record(two, rec), decode_status::ok);
  EXPECT_EQ(rec.size, bytes.size());
  ASSERT_EQ(decode_record(std::string_view(two).substr(rec.size), rec), decode_status::ok);
  EXPECT_EQ(rec.type, record_type::delivered);
  EXPECT_EQ(rec.seq, 9u);
  EXPECT_FALSE(rec.dropped());
}

TEST(OutboxRecord, EmptyKeyAndPayload) {
  const std::string bytes = encode(record_type::data, 0, 1, {}, {});
  record_view rec;
  ASSERT_EQ(decode_record(bytes, rec), decode_status::ok);
  EXPECT_TRUE(rec.key.empty());
  EXPECT_TRUE(rec.payload.empty());
  EXPECT_FALSE(rec.binary());
}

TEST(OutboxRecord, EveryTruncationIsIncompleteNeverOk) {
  const std::string bytes = encode(record_type::data, 0, 77, "k", std::string(100, 'x'));
  record_view rec;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    // A fresh copy of exactly n bytes, so AddressSanitizer catches a read past the end.
    const std::string cut = bytes.substr(0, n);
    EXPECT_EQ(decode_record(cut, rec), decode_status::incomplete) << n;
  }
}

TEST(OutboxRecord, EveryBitFlipIsDetected) {
  const std::string bytes = encode(record_type::data, 0, 77, "key", std::string(64, 'p'));
  record_view rec;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      EXPECT_NE(decode_record(damaged, rec), decode_status::ok) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(OutboxRecord, ImplausibleLengthsAreCorruptNotIncomplete) {
  std::string bytes = encode(record_type::data, 0, 1, "k", "v");
  record_view rec;
  std::string huge = bytes;
  huge[4] = huge[5] = huge[6] = huge[7] = '\xFF';  // 4 GiB - 1: above the 64 MiB bound
  EXPECT_EQ(decode_record(huge, rec), decode_status::corrupt);
  std::string tiny = bytes;
  tiny[4] = 10;  // shorter than a header
  tiny[5] = tiny[6] = tiny[7] = 0;
  EXPECT_EQ(decode_record(tiny, rec), decode_status::corrupt);
  std::string long_key = bytes;
  long_key[14] = '\x7F';  // key_len beyond total_len
  EXPECT_EQ(decode_record(long_key, rec), decode_status::corrupt);
  std::string bad_type = bytes;
  bad_type[12] = 9;
  EXPECT_EQ(decode_record(bad_type, rec), decode_status::corrupt);
  std::string mark_with_payload = encode(record_type::delivered, 0, 1, {}, {});
  mark_with_payload[4] = 30;  // a mark claiming a body
  EXPECT_EQ(decode_record(mark_with_payload, rec), decode_status::corrupt);
  EXPECT_EQ(decode_record(std::string(24, '\0'), rec), decode_status::corrupt);
  EXPECT_EQ(decode_record(std::string(3, '\0'), rec), decode_status::corrupt);
  EXPECT_EQ(decode_record("RW", rec), decode_status::incomplete);
  // A plausible length beyond the bytes at hand is a torn tail.
  std::string torn = bytes;
  torn[4] = '\x00';
  torn[5] = '\x10';  // 4096
  EXPECT_EQ(decode_record(torn, rec), decode_status::incomplete);
  EXPECT_EQ(decode_record(std::string_view(), rec), decode_status::incomplete);
}

TEST(OutboxRecord, RandomBytesNeverCrash) {
  std::mt19937_64 rng(1234);
  record_view rec;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 80, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    if (round % 2 == 0 && bytes.size() >= 8) {
      // Give half of them a valid magic and a small length so the deeper checks run.
      std::memcpy(bytes.data(), "RWS1", 4);
      bytes[4] = static_cast<char>(rng() % 100);
      bytes[5] = bytes[6] = bytes[7] = 0;
    }
    const auto status = decode_record(bytes, rec);
    if (status == decode_status::ok) {
      EXPECT_LE(rec.size, bytes.size());
    }
  }
}

}  // namespace
}  // namespace rws
