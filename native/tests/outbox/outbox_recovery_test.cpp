// recover_segment() on byte strings: the rules of outbox_recovery.hpp, and the invariant the
// fuzz harness checks (every data record returned is one the writer wrote; seqs strictly rise).
#include "outbox/outbox_recovery.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "outbox/outbox_record.hpp"

namespace rws {
namespace {

std::string record_bytes(record_type type, std::uint64_t seq, std::string_view key = {},
                         std::string_view payload = {}) {
  std::string out;
  encode_record(out, type, 0, seq, key, payload);
  return out;
}

// A segment as the writer lays it out: segment-start, then data records `first`.. with
// payloads that embed whole records of a foreign outbox (seqs 1000+), and a delivered-mark
// every fourth record. `written` maps each data seq to its record bytes.
std::string writer_segment(std::uint64_t first, int count, std::map<std::uint64_t, std::string>& written,
                           std::uint64_t embedded_offset = 1000) {
  std::string segment = record_bytes(record_type::segment_start, first);
  for (int i = 0; i < count; ++i) {
    const std::uint64_t seq = first + static_cast<std::uint64_t>(i);
    const std::string embedded = record_bytes(record_type::data, embedded_offset + seq, "foreign", "x");
    const std::string rec = record_bytes(record_type::data, seq, "key-" + std::to_string(seq),
                                         "p" + std::to_string(seq) + embedded + std::string(i % 5, 'q'));
    written[seq] = rec;
    segment += rec;
    if (i % 4 == 3) segment += record_bytes(record_type::delivered, seq - 2);
  }
  return segment;
}

void expect_only_written_records(std::string_view bytes, const segment_recovery& r,
                                 const std::map<std::uint64_t, std::string>& written,
                                 const std::string& what) {
  std::uint64_t previous = 0;
  for (const auto& d : r.data) {
    EXPECT_GT(d.seq, previous) << what;
    previous = d.seq;
    const auto found = written.find(d.seq);
    ASSERT_NE(found, written.end()) << what << ": seq " << d.seq << " was never written";
    ASSERT_LE(d.offset + found->second.size(), bytes.size()) << what;
    EXPECT_EQ(bytes.substr(d.offset, found->second.size()), found->second) << what;
  }
  EXPECT_LE(r.valid_end + r.torn_bytes, bytes.size()) << what;
}

TEST(OutboxRecovery, CleanSegmentReturnsEveryRecordAndTheNextSeq) {
  std::map<std::uint64_t, std::string> written;
  const std::string segment = writer_segment(5, 10, written);
  const auto r = recover_segment(segment, 5);
  ASSERT_EQ(r.data.size(), 10u);
  EXPECT_EQ(r.data.front().seq, 5u);
  EXPECT_EQ(r.next_seq, 15u);
  EXPECT_EQ(r.marks.size(), 2u);
  EXPECT_EQ(r.valid_end, segment.size());
  EXPECT_EQ(r.torn_bytes + r.damaged_bytes, 0u);
  expect_only_written_records(segment, r, written, "clean");
}

// Issue 8 item 10: the exact bytes a fuzzer reported. Whatever they hold, no record comes back.
TEST(OutboxRecovery, FuzzFoundDamagedHeader) {
  const std::string hex = "02010600ffffbf02614484160ad0620078797a0007045051525300";
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  for (std::uint64_t floor : {0u, 1u, 2u, 1000u}) {
    const auto r = recover_segment(bytes, floor);
    EXPECT_TRUE(r.data.empty());
    EXPECT_TRUE(r.marks.empty());
    EXPECT_EQ(r.valid_end, 0u);
  }
}

TEST(OutboxRecovery, TornTailIsNeverSearchedForRecords) {
  std::map<std::uint64_t, std::string> written;
  const std::string segment = writer_segment(1, 6, written);
  // Every cut inside the last record: its payload embeds a whole record, never returned.
  const std::size_t last_start = segment.size() - written[6].size();
  for (std::size_t cut = last_start; cut < segment.size(); ++cut) {
    const std::string torn = segment.substr(0, cut);
    const auto r = recover_segment(torn, 1);
    ASSERT_EQ(r.data.size(), 5u) << cut;
    EXPECT_EQ(r.valid_end, last_start) << cut;
    EXPECT_EQ(r.torn_bytes, cut - last_start) << cut;
    EXPECT_EQ(r.damaged_bytes, 0u) << cut;
  }
}

TEST(OutboxRecovery, DamagedLengthFieldInTheMiddleIsProvenByTheChecksum) {
  // The length is not covered by the checksum. Made huge, record 3 claims to run past the end,
  // like a torn tail; its checksum over the bytes up to record 4 proves the length was damaged.
  std::map<std::uint64_t, std::string> written;
  std::string segment = writer_segment(1, 6, written);
  const std::size_t third = segment.find(written[3]);
  segment[third + 6] = static_cast<char>(0x40);  // total_len += 4 MiB
  const auto r = recover_segment(segment, 1);
  std::vector<std::uint64_t> seqs;
  for (const auto& d : r.data) seqs.push_back(d.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 4, 5, 6}));
  EXPECT_EQ(r.damaged_bytes, written[3].size());
  EXPECT_EQ(r.first_damage, third);
  EXPECT_EQ(r.torn_bytes, 0u);
  expect_only_written_records(segment, r, written, "length");
}

// Pins the damaged-header family (issue 8 item 10): record 2's header is destroyed and its
// payload embeds a record whose seq does fit the sequence (2). The embedded record's chain runs
// into the rest of the payload at once, so it is refused; record 3 is the real next one.
TEST(OutboxRecovery, EmbeddedRecordWithAFittingSeqBehindADamagedHeaderIsRefused) {
  std::string segment = record_bytes(record_type::segment_start, 1);
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t damaged = segment.size();
  const std::string phantom = record_bytes(record_type::data, 2, "phantom", "boom");
  segment += record_bytes(record_type::data, 2, "real-2", "xx" + phantom + std::string(300, 'z'));
  segment += record_bytes(record_type::data, 3, "real-3", "three");
  segment += record_bytes(record_type::data, 4, "real-4", "four");
  const char damage[] = {0x02, 0x01, 0x06, 0x00, static_cast<char>(0xff), static_cast<char>(0xff)};
  std::memcpy(&segment[damaged], damage, sizeof damage);  // magic and length destroyed
  const auto r = recover_segment(segment, 1);
  std::vector<std::uint64_t> seqs;
  for (const auto& d : r.data) {
    seqs.push_back(d.seq);
    EXPECT_NE(segment.substr(d.offset + outbox_record_header_size, 7), "phantom");
  }
  // Nothing behind a header whose magic and length are gone is trusted: 3 and 4 stay in the
  // quarantined copy, but the next seq goes above them.
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(r.next_seq, 5u);
  EXPECT_EQ(r.first_damage, damaged);
}

// Found by fuzz_outbox_recovery: record 2's payload is a whole record with seq 2 itself. A
// damaged length that points right at it must not make it record 2. With the checksum field
// intact, the checksum proves where record 2 really ends and 3 and 4 come back; with it damaged
// too, the candidate names the damaged header's own seq and is refused.
TEST(OutboxRecovery, DamagedLengthNeverExposesARecordThePayloadEmbeds) {
  std::string segment = record_bytes(record_type::segment_start, 1);
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t damaged = segment.size();
  const std::string phantom = record_bytes(record_type::data, 2, "", "boom");
  segment += record_bytes(record_type::data, 2, "", phantom);
  segment += record_bytes(record_type::data, 3, "real-3", "three");
  segment += record_bytes(record_type::data, 4, "real-4", "four");
  segment += record_bytes(record_type::data, 5, "real-5", "five");
  for (const bool crc_damaged_too : {false, true}) {
    std::string bytes = segment;
    bytes[damaged + 4] = static_cast<char>(outbox_record_header_size);  // total_len: just the header
    if (crc_damaged_too) bytes[damaged + 8] = static_cast<char>(bytes[damaged + 8] ^ 0x5a);
    const auto r = recover_segment(bytes, 1);
    std::vector<std::uint64_t> seqs;
    for (const auto& d : r.data) {
      seqs.push_back(d.seq);
      EXPECT_NE(bytes.substr(d.offset + outbox_record_header_size, 4), "boom") << crc_damaged_too;
    }
    if (crc_damaged_too) {
      EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1})) << "the rest stays in the quarantined copy";
      EXPECT_EQ(r.next_seq, 6u);
    } else {
      EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 3, 4, 5})) << "the checksum proves record 2's end";
    }
    EXPECT_EQ(r.first_damage, damaged);
  }
}

TEST(OutboxRecovery, OutOfSequenceRecordsAreRefused) {
  std::string segment = record_bytes(record_type::segment_start, 10);
  segment += record_bytes(record_type::data, 10, "a", "1");
  segment += record_bytes(record_type::data, 9, "b", "2");   // goes backwards
  segment += record_bytes(record_type::data, 11, "c", "3");
  segment += record_bytes(record_type::segment_start, 12);   // only at offset 0
  segment += record_bytes(record_type::data, 12, "d", "4");
  const auto r = recover_segment(segment, 1);
  std::vector<std::uint64_t> seqs;
  for (const auto& d : r.data) seqs.push_back(d.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{10, 11, 12}));
  EXPECT_EQ(r.damaged_bytes, 26u + 24u);  // the backwards record and the second segment-start
  EXPECT_EQ(r.next_seq, 13u);
  // A segment whose start lies below the floor the previous segments left is not the writer's.
  const auto below = recover_segment(segment, 11);
  for (const auto& d : below.data) EXPECT_GE(d.seq, 11u);
}

TEST(OutboxRecovery, SeqsAtTheLimitAreRefused) {
  std::string segment = record_bytes(record_type::segment_start, 1);
  segment += record_bytes(record_type::data, 1, "a", "1");
  segment += record_bytes(record_type::data, outbox_seq_limit, "b", "2");
  segment += record_bytes(record_type::data, std::numeric_limits<std::uint64_t>::max(), "c", "3");
  const auto r = recover_segment(segment, 1);
  ASSERT_EQ(r.data.size(), 1u);
  EXPECT_EQ(r.next_seq, 2u);
  EXPECT_GT(r.damaged_bytes, 0u);  // checksummed but refused: kept for inspection, reported
}

TEST(OutboxRecovery, MarksRetireOnlyWhatWasWritten) {
  std::string segment = record_bytes(record_type::segment_start, 1);
  segment += record_bytes(record_type::data, 1, "a", "1");
  segment += record_bytes(record_type::delivered, 1);
  segment += record_bytes(record_type::delivered, 7);  // nothing with seq 7 exists yet
  const auto r = recover_segment(segment, 1);
  EXPECT_EQ(r.marks, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(r.damaged_bytes, 0u);
}

// The fuzz invariant on random damage: bytes flipped, ranges zeroed, garbage inserted, cuts.
// Whatever happens, only records the writer wrote come back, in strictly increasing seq order.
TEST(OutboxRecovery, RandomDamageNeverProducesARecordTheWriterDidNotWrite) {
  // Embedded records with foreign seqs (1000+), and with the seq that would come next (+1).
  for (const std::uint64_t embedded_offset : {1000u, 1u}) {
  std::map<std::uint64_t, std::string> written;
  const std::string original = writer_segment(1, 40, written, embedded_offset);
  std::mt19937_64 rng(8);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255)); break;
        case 1: std::memset(&bytes[at], 0, std::min<std::size_t>(bytes.size() - at, rng() % 64)); break;
        case 2: bytes.insert(at, std::string(rng() % 40, static_cast<char>(rng()))); break;
        case 3: bytes.resize(at); break;
      }
    }
    const auto r = recover_segment(bytes, 1);
    expect_only_written_records(bytes, r, written,
                                "embedded +" + std::to_string(embedded_offset) + ", round " + std::to_string(round));
    if (HasFailure()) return;
  }
  }
}

}  // namespace
}  // namespace rws
