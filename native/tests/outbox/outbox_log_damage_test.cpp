// The outbox log after simulated crashes: torn tails, garbage, zero fill, flipped bytes.
#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers
// ---- Torn tails and damage (simulated crashes, as SQLite's crash tests do) --------------------

class OutboxLogDamage : public OutboxLog {
 protected:
  // A single segment: segment-start + 10 data records of varied sizes. Returns its bytes.
  std::string write_ten(outbox_log_options options = no_fsync()) {
    auto o = open_log(fs_, tmp_.outbox(), options);
    EXPECT_FALSE(o.ec);
    for (std::uint64_t n = 1; n <= 10; ++n) {
      auto batch = make_batch(n, 1, n * 7);
      EXPECT_FALSE(o.log->append(batch));
    }
    EXPECT_FALSE(o.log->sync());
    o.log->close();
    const auto segments = segment_files(tmp_.outbox());
    EXPECT_EQ(segments.size(), 1u);
    segment_ = segments.at(0);
    return read_bytes(segment_);
  }

  std::string segment_;
};

std::vector<std::string> ten_payloads_except(std::uint64_t skip_from, std::uint64_t skip_to) {
  std::vector<std::string> out;
  for (std::uint64_t n = 1; n <= 10; ++n) {
    if (n < skip_from || n > skip_to) out.push_back(payload_for(n, n * 7));
  }
  return out;
}

TEST_F(OutboxLogDamage, TruncatedAtEveryByteOfTheLastThreeRecords) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  ASSERT_EQ(starts.size(), 12u);  // segment-start, 10 records, end
  ASSERT_EQ(starts.back(), original.size());
  const std::size_t from = starts[starts.size() - 4];  // start of record 8
  int cases = 0;
  for (std::size_t cut = from; cut < original.size(); ++cut) {
    write_bytes(segment_, original.substr(0, cut));
    // Records whose last byte is before the cut survive, nothing else.
    std::size_t boundary_index = 0;
    while (starts[boundary_index + 1] <= cut) ++boundary_index;
    const std::uint64_t complete = boundary_index - 1;  // index 0 is the segment-start record
    const std::size_t boundary = starts[boundary_index];
    {
      auto o = open_log(fs_, tmp_.outbox(), no_fsync());
      ASSERT_FALSE(o.ec) << "cut " << cut << ": " << o.ec.message();
      EXPECT_EQ(payloads(*o.log), ten_payloads_except(complete + 1, 10)) << "cut " << cut;
      EXPECT_EQ(o.report.torn_bytes_truncated, cut - boundary) << "cut " << cut;
      EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
      EXPECT_EQ(stdfs::file_size(segment_), boundary);
      // And the log goes on from there.
      auto more = make_batch(100, 1);
      ASSERT_FALSE(o.log->append(more));
      EXPECT_EQ(more[0].seq, complete + 1);
    }
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    auto expected = ten_payloads_except(complete + 1, 10);
    expected.push_back(payload_for(100));
    EXPECT_EQ(payloads(*o.log), expected) << "cut " << cut;
    EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
    ++cases;
  }
  std::printf("[ info     ] %d torn-tail offsets checked\n", cases);
  EXPECT_TRUE(quarantine_files(tmp_.outbox()).empty());
}

TEST_F(OutboxLogDamage, TruncatedInsideTheSegmentStartRecord) {
  const std::string original = write_ten();
  for (std::size_t cut = 0; cut < outbox_record_header_size; ++cut) {
    write_bytes(segment_, original.substr(0, cut));
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec) << "cut " << cut;
    EXPECT_TRUE(o.log->pending().empty());
    EXPECT_EQ(o.report.torn_bytes_truncated, cut);
    auto batch = make_batch(1, 1);
    ASSERT_FALSE(o.log->append(batch));
    o.log->close();
    auto again = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(again.ec);
    EXPECT_EQ(payloads(*again.log), expected_payloads(1, 1));
    again.log->close();
    for (const auto& f : segment_files(tmp_.outbox())) stdfs::remove(f);
  }
}

TEST_F(OutboxLogDamage, RandomBytesAppended) {
  const std::string original = write_ten();
  std::mt19937_64 rng(99);
  for (std::size_t len : {1u, 3u, 8u, 23u, 24u, 25u, 100u, 4096u, 70000u}) {
    std::string garbage(len, '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    write_bytes(segment_, original + garbage);
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11)) << len;
    EXPECT_EQ(o.report.torn_bytes_truncated, len);
    EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
    EXPECT_EQ(stdfs::file_size(segment_), original.size());
  }
  // Garbage that starts like a record header (magic and a plausible length) is a torn tail too.
  std::string fake = original;
  encode_record(fake, record_type::data, 0, 11, "k", std::string(500, 'x'));
  fake.resize(original.size() + 100);
  write_bytes(segment_, fake);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11));
  EXPECT_EQ(o.report.torn_bytes_truncated, 100u);
}

TEST_F(OutboxLogDamage, ZeroFilledTail) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  // File size extended with zeros (metadata reached the disk, data did not).
  write_bytes(segment_, original + std::string(8192, '\0'));
  {
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11));
    EXPECT_EQ(o.report.torn_bytes_truncated, 8192u);
  }
  // The last two records' bytes zeroed in place.
  std::string zeroed = original;
  std::fill(zeroed.begin() + static_cast<std::ptrdiff_t>(starts[9]), zeroed.end(), '\0');
  write_bytes(segment_, zeroed);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(9, 10));
  EXPECT_EQ(o.report.torn_bytes_truncated, original.size() - starts[9]);
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
}

TEST_F(OutboxLogDamage, FlippedByteInAMiddleRecordIsQuarantined) {
  const std::string original = write_ten(outbox_log_options{});
  const auto starts = record_boundaries(original);
  // Record 5 (index 5: index 0 is the segment-start). Every header byte, the key, and payload
  // bytes at both ends.
  const std::size_t begin = starts[5];
  const std::size_t end = starts[6];
  std::vector<std::size_t> offsets;
  for (std::size_t i = begin; i < begin + outbox_record_header_size + 6; ++i) offsets.push_back(i);
  offsets.push_back(end - 2);
  offsets.push_back(end - 1);
  std::string detail;
  for (const std::size_t at : offsets) {
    for (const auto& f : quarantine_files(tmp_.outbox())) stdfs::remove(f);
    std::string damaged = original;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5A);
    write_bytes(segment_, damaged);
    {
      auto o = open_log(fs_, tmp_.outbox());
      ASSERT_FALSE(o.ec) << "offset " << at;
      EXPECT_EQ(payloads(*o.log), ten_payloads_except(5, 5)) << "offset " << at;
      EXPECT_EQ(o.report.corrupt_segments_quarantined, 1u) << "offset " << at;
      EXPECT_NE(o.report.corrupt_detail.find(".corrupt"), std::string::npos);
      detail = o.report.corrupt_detail;
      EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
      EXPECT_EQ(o.log->next_seq(), 11u);
      const auto quarantined = quarantine_files(tmp_.outbox());
      ASSERT_EQ(quarantined.size(), 1u);
      EXPECT_EQ(read_bytes(quarantined[0]), damaged);  // kept exactly as found
    }
    // Reported once: the segment was rewritten clean.
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(5, 5));
  }
  std::printf("[ info     ] %zu damaged offsets quarantined; last report: %s\n", offsets.size(),
              detail.c_str());
}

TEST_F(OutboxLogDamage, DamageAcrossSeveralRecordsKeepsWhatCanBeResynchronised) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  std::string damaged = original;
  // Records 3..6 overwritten with garbage that contains the magic but no valid record.
  for (std::size_t i = starts[3]; i < starts[7]; ++i) damaged[i] = (i % 7 == 0) ? 'R' : 'W';
  std::memcpy(&damaged[starts[4]], "RWS1", 4);
  write_bytes(segment_, damaged);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(3, 6));
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 1u);
  EXPECT_NE(o.report.corrupt_detail.find(std::to_string(starts[7] - starts[3]) + " damaged bytes"),
            std::string::npos)
      << o.report.corrupt_detail;
}

TEST_F(OutboxLogDamage, TornTailOfAnEarlierSegmentAndAnEmptyLastSegment) {
  outbox_log_options options = no_fsync();
  options.segment_bytes = 300;
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    for (std::uint64_t n = 1; n <= 30; ++n) {
      auto batch = make_batch(n, 1, 50);
      ASSERT_FALSE(o.log->append(batch));
    }
    EXPECT_GE(o.log->segment_count(), 5u);
  }
  auto segments = segment_files(tmp_.outbox());
  ASSERT_GE(segments.size(), 5u);
  // Cut the second segment inside its last record; leave an empty file as the next segment, as
  // a crash right after creating it would.
  const std::string second = read_bytes(segments[1]);
  const auto starts = record_boundaries(second);
  write_bytes(segments[1], second.substr(0, starts[starts.size() - 2] + 10));
  const std::string last_name = stdfs::path(segments.back()).filename().string();
  const std::uint64_t last_index = std::stoull(last_name.substr(4, 16), nullptr, 16);
  char next_name[32];
  std::snprintf(next_name, sizeof next_name, "seg-%016llx.log",
                static_cast<unsigned long long>(last_index + 1));
  write_bytes(tmp_.outbox() + "/" + next_name, "");
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.report.torn_bytes_truncated, 10u);
  EXPECT_EQ(o.report.records_pending, 29u);
  EXPECT_EQ(o.log->next_seq(), 31u);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  auto batch = make_batch(31, 1);
  ASSERT_FALSE(o.log->append(batch));
  EXPECT_EQ(batch[0].seq, 31u);
}

}  // namespace
}  // namespace rws
