// Recovery must only ever bring back records the writer wrote (issue 8, items 1, 10, 11). These
// tests go through outbox_log::open on real files, the way a restarted process does.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "outbox/outbox_log.hpp"
#include "outbox/outbox_record.hpp"

namespace rws {
namespace {

namespace stdfs = std::filesystem;

class OutboxRecoveryRegression : public ::testing::Test {
 protected:
  OutboxRecoveryRegression() {
    std::string pattern = (stdfs::temp_directory_path() / "rws-recovery-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    root_ = pattern;
    dir_ = root_ + "/outbox";
  }
  ~OutboxRecoveryRegression() override {
    std::error_code ec;
    stdfs::remove_all(root_, ec);
  }

  std::string segment_path() const { return dir_ + "/seg-0000000000000001.log"; }

  void write_segment(std::string_view bytes) {
    stdfs::create_directories(dir_);
    stdfs::permissions(dir_, stdfs::perms::owner_all, stdfs::perm_options::replace);
    std::ofstream out(segment_path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  std::string read_segment() const {
    std::ifstream in(segment_path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::unique_ptr<outbox_log> open(outbox_recovery_report& report) {
    std::error_code ec;
    outbox_log_options options;
    options.fsync = fsync_policy::none;
    auto log = outbox_log::open(fs_, dir_, ec, report, options);
    EXPECT_FALSE(ec) << ec.message();
    return log;
  }

  static std::vector<std::uint64_t> seqs(const outbox_log& log) {
    std::vector<std::uint64_t> out;
    for (const auto& e : log.pending()) out.push_back(e.seq);
    return out;
  }

  posix_file_system fs_;
  std::string root_;
  std::string dir_;
};

// A record the writer could have written, as its bytes (what an application might send as a
// binary message: e.g. a tool that forwards outbox segments).
std::string record_bytes(record_type type, std::uint64_t seq, std::string_view key,
                         std::string_view payload) {
  std::string out;
  encode_record(out, type, 0, seq, key, payload);
  return out;
}

// Pins issue 8 item 1: a torn tail whose last record carries a payload that embeds a whole,
// checksummed record. Before the fix, recovery resynchronised inside that payload and returned
// the embedded record as a pending message (seq 77, key "phantom") that would have been sent.
TEST_F(OutboxRecoveryRegression, TornTailWhosePayloadEmbedsARecordBringsNothingBack) {
  std::string segment = record_bytes(record_type::segment_start, 1, {}, {});
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t clean_size = segment.size();
  const std::string embedded = record_bytes(record_type::data, 77, "phantom", "boom");
  const std::string payload = "prefix" + embedded + std::string(300, 'z');
  segment += record_bytes(record_type::data, 2, "real-2", payload);
  // The crash tore the write of record 2 right after the embedded record.
  segment.resize(clean_size + outbox_record_header_size + 6 + 6 + embedded.size() + 10);
  write_segment(segment);

  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1}));
  for (const auto& e : log->pending()) EXPECT_NE(e.key, "phantom");
  EXPECT_EQ(report.corrupt_segments_quarantined, 0u);  // a torn tail, nothing else
  EXPECT_EQ(report.torn_bytes_truncated, segment.size() - clean_size);
  EXPECT_EQ(read_segment().size(), clean_size);
  EXPECT_EQ(log->next_seq(), 2u);
}

// Pins the same rule for damage in the middle: record 2's header is damaged (its checksum), its
// payload embeds a record with a foreign seq, record 3 follows intact. Resynchronisation may
// only accept a record whose seq continues the sequence: record 3, never the embedded one.
TEST_F(OutboxRecoveryRegression, DamagedRecordWhosePayloadEmbedsARecordKeepsOnlyRealRecords) {
  std::string segment = record_bytes(record_type::segment_start, 1, {}, {});
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t damaged_at = segment.size();
  const std::string embedded = record_bytes(record_type::data, 900, "phantom", "boom");
  segment += record_bytes(record_type::data, 2, "real-2", "prefix" + embedded + "suffix");
  segment += record_bytes(record_type::data, 3, "real-3", "world");
  segment += record_bytes(record_type::data, 4, "real-4", "!");
  segment[damaged_at + 8] ^= 0x01;  // the checksum field of record 2
  write_segment(segment);

  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1, 3, 4}));
  for (const auto& e : log->pending()) EXPECT_NE(e.key, "phantom");
  EXPECT_EQ(report.corrupt_segments_quarantined, 1u);
  EXPECT_EQ(log->next_seq(), 5u);
}

// The price of that rule, pinned so it is a decision and not an accident: a lone data record
// after damage, with nothing after it to confirm it, is not trusted. It is not lost either: the
// quarantined copy keeps it, and the error reports the damage.
TEST_F(OutboxRecoveryRegression, LoneRecordAfterDamageStaysInTheQuarantinedCopy) {
  std::string segment = record_bytes(record_type::segment_start, 1, {}, {});
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t damaged_at = segment.size();
  segment += record_bytes(record_type::data, 2, "real-2", "payload");
  segment += record_bytes(record_type::data, 3, "real-3", "last");
  segment[damaged_at + outbox_record_header_size + 2] ^= 0x01;  // record 2's key
  write_segment(segment);
  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(report.corrupt_segments_quarantined, 1u);
  std::ifstream in(segment_path() + ".corrupt", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), segment);
}

// Seqs that stayed in a quarantined copy are never given out again — not by this process (the
// next seq goes above them) and not by a later one, which no longer sees them: the segment was
// rewritten with the kept records only, so recovery starts a new segment whose segment-start
// carries the raised next seq.
TEST_F(OutboxRecoveryRegression, SeqsLeftInTheQuarantinedCopyAreNotReusedByALaterProcess) {
  std::string segment = record_bytes(record_type::segment_start, 1, {}, {});
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  const std::size_t damaged_at = segment.size();
  segment += record_bytes(record_type::data, 2, "real-2", "payload");
  segment += record_bytes(record_type::data, 3, "real-3", "last");
  segment[damaged_at + outbox_record_header_size + 2] ^= 0x01;  // record 2's key: 2 and 3 stay behind
  write_segment(segment);
  {
    outbox_recovery_report report;
    auto log = open(report);
    ASSERT_TRUE(log);
    EXPECT_EQ(report.corrupt_segments_quarantined, 1u);
    EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(log->next_seq(), 4u);
    EXPECT_FALSE(log->close());  // nothing appended before the process ends
  }
  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_EQ(report.corrupt_segments_quarantined, 0u);  // the damage was reported once
  EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(log->next_seq(), 4u);
  std::vector<outbox_entry> batch(1);
  batch[0].key = "after";
  batch[0].payload = "restart";
  ASSERT_FALSE(log->append(batch));
  EXPECT_EQ(batch[0].seq, 4u);
}

// Pins issue 8 item 10: this exact segment (found by fuzzing) must not produce a record that
// lives inside another record's bytes, nor crash; whatever it is, nothing comes back from it.
TEST_F(OutboxRecoveryRegression, FuzzFoundDamagedHeaderRecoversNoPhantom) {
  const std::string hex = "02010600ffffbf02614484160ad0620078797a0007045051525300";
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  write_segment(bytes);
  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->pending().empty());
  EXPECT_EQ(report.records_recovered, 0u);
}

// Pins issue 8 item 11: a checksummed record with seq 2^64-1 used to make next_seq() wrap to 0,
// so the next append got seq 0 and sorted before everything on the next reopen. Such a seq can
// not be followed: the record is refused (the segment quarantined) and numbering goes on from
// the records that can be followed.
TEST_F(OutboxRecoveryRegression, SeqThatCannotBeFollowedIsRefused) {
  std::string segment = record_bytes(record_type::segment_start, 1, {}, {});
  segment += record_bytes(record_type::data, 1, "real-1", "hello");
  segment += record_bytes(record_type::data, std::numeric_limits<std::uint64_t>::max(), "max",
                          "wraps");
  write_segment(segment);
  {
    outbox_recovery_report report;
    auto log = open(report);
    ASSERT_TRUE(log);
    EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(report.corrupt_segments_quarantined, 1u);
    EXPECT_EQ(log->next_seq(), 2u);
    std::vector<outbox_entry> batch{{0, "next", "after", false}};
    ASSERT_FALSE(log->append(batch));
    EXPECT_EQ(batch[0].seq, 2u);
  }
  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_EQ(seqs(*log), (std::vector<std::uint64_t>{1, 2}));  // still in send order
}

// The same for a segment-start record that claims the last seq.
TEST_F(OutboxRecoveryRegression, SegmentStartAtTheLastSeqIsRefused) {
  std::string segment =
      record_bytes(record_type::segment_start, std::numeric_limits<std::uint64_t>::max(), {}, {});
  write_segment(segment);
  outbox_recovery_report report;
  auto log = open(report);
  ASSERT_TRUE(log);
  EXPECT_NE(log->next_seq(), 0u);
  EXPECT_LT(log->next_seq(), std::uint64_t{1} << 63);
  std::vector<outbox_entry> batch{{0, "k", "p", false}};
  ASSERT_FALSE(log->append(batch));
  EXPECT_NE(batch[0].seq, 0u);
}

}  // namespace
}  // namespace rws
