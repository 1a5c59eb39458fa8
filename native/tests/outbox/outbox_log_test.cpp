// The outbox log: appends, syncs, reopen, locking, file modes.
#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers

TEST_F(OutboxLog, AppendSyncReopenKeepsEverythingInOrder) {
  {
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec) << o.ec.message();
    EXPECT_EQ(o.report.records_recovered, 0u);
    EXPECT_EQ(o.log->next_seq(), 1u);
    auto a = make_batch(1, 3);
    auto b = make_batch(4, 1);
    auto c = make_batch(5, 4, 5000);
    c[0].payload.clear();  // empty payloads are messages too
    c[1].key.clear();
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(o.log->append(b));
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
    EXPECT_EQ(a[0].seq, 1u);
    EXPECT_EQ(c[3].seq, 8u);
    EXPECT_EQ(o.log->pending().size(), 8u);
    EXPECT_FALSE(o.log->close());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.report.records_recovered, 8u);
  EXPECT_EQ(o.report.records_pending, 8u);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
  const auto& p = o.log->pending();
  ASSERT_EQ(p.size(), 8u);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const std::uint64_t n = i + 1;
    EXPECT_EQ(p[i].seq, n);
    EXPECT_EQ(p[i].binary, n % 3 == 0);
    if (n == 5) {
      EXPECT_EQ(p[i].payload, "");
    } else {
      EXPECT_EQ(p[i].payload, payload_for(n, n >= 5 ? 5000 : 0));
    }
    EXPECT_EQ(p[i].key, n == 6 ? "" : "key-" + std::to_string(n));
  }
  EXPECT_EQ(o.log->next_seq(), 9u);
  EXPECT_EQ(o.log->disk_bytes(), segment_bytes_on_disk(tmp_.outbox()));
}

TEST_F(OutboxLog, SeqsContinueAfterReopenEvenWhenEverythingWasDelivered) {
  outbox_log_options options;
  options.idle_rotate_bytes = 1;  // replace the segment as soon as nothing is pending
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 100);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_FALSE(o.log->mark_delivered(s));
    EXPECT_TRUE(o.log->pending().empty());
    // Only a fresh segment holding nothing but its segment-start record is left.
    EXPECT_EQ(o.log->segment_count(), 1u);
    EXPECT_EQ(o.log->disk_bytes(), outbox_record_header_size);
  }
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    EXPECT_TRUE(o.log->pending().empty());
    EXPECT_EQ(o.log->next_seq(), 101u);
    auto batch = make_batch(101, 2);
    ASSERT_FALSE(o.log->append(batch));
    EXPECT_EQ(batch[0].seq, 101u);
    EXPECT_EQ(batch[1].seq, 102u);
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(o.log->next_seq(), 103u);
  EXPECT_EQ(payloads(*o.log), expected_payloads(101, 102));
}

TEST_F(OutboxLog, DeliveredAndDroppedRecordsAreNotPendingAfterReopen) {
  {
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 10);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    // In order, out of order (acks), twice, unknown: all fine.
    EXPECT_FALSE(o.log->mark_delivered(1));
    EXPECT_FALSE(o.log->mark_delivered(5));
    EXPECT_FALSE(o.log->mark_delivered(3));
    EXPECT_FALSE(o.log->mark_delivered(3));
    EXPECT_FALSE(o.log->mark_delivered(999));
    EXPECT_FALSE(o.log->drop(2));
    EXPECT_EQ(o.log->dropped_count(), 1u);
    EXPECT_EQ(o.log->pending().size(), 6u);
    std::uint64_t bytes = 0;
    for (std::uint64_t n : {4, 6, 7, 8, 9, 10}) bytes += payload_for(n).size();
    EXPECT_EQ(o.log->pending_bytes(), bytes);
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{4, 6, 7, 8, 9, 10}));
  EXPECT_EQ(o.report.records_recovered, 10u);
  EXPECT_EQ(o.report.records_pending, 6u);
}

TEST_F(OutboxLog, DiskUseStaysBoundedOver200kRecords) {
  outbox_log_options options = no_fsync();  // the bound is about rotation, not durability
  options.segment_bytes = 64 << 10;
  options.idle_rotate_bytes = 16 << 10;
  std::uint64_t n = 1;
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    std::size_t max_segments = 0;
    std::uint64_t max_bytes = 0;
    // Phase 1: the network keeps up — everything is delivered right after it is written.
    for (int round = 0; round < 1000; ++round) {
      auto batch = make_batch(n, 100, 40);
      n += 100;
      ASSERT_FALSE(o.log->append(batch));
      ASSERT_FALSE(o.log->sync());
      for (const auto& e : batch) ASSERT_FALSE(o.log->mark_delivered(e.seq));
      max_segments = std::max(max_segments, o.log->segment_count());
      max_bytes = std::max(max_bytes, o.log->disk_bytes());
    }
    EXPECT_LE(max_segments, 2u);
    EXPECT_LE(max_bytes, 2u * options.segment_bytes);
    // Phase 2: acks lag 1,000 messages behind.
    for (int round = 0; round < 1000; ++round) {
      auto batch = make_batch(n, 100, 40);
      n += 100;
      ASSERT_FALSE(o.log->append(batch));
      ASSERT_FALSE(o.log->sync());
      while (o.log->pending().size() > 1000) {
        ASSERT_FALSE(o.log->mark_delivered(o.log->pending().front().seq));
      }
      max_segments = std::max(max_segments, o.log->segment_count());
      max_bytes = std::max(max_bytes, o.log->disk_bytes());
    }
    EXPECT_LE(max_segments, 5u);
    EXPECT_LE(max_bytes, 5u * options.segment_bytes);
    EXPECT_EQ(o.log->disk_bytes(), segment_bytes_on_disk(tmp_.outbox()));
    EXPECT_EQ(segment_files(tmp_.outbox()).size(), o.log->segment_count());
    std::printf("[ info     ] 200k records: at most %zu segments, %llu bytes on disk\n",
                max_segments, static_cast<unsigned long long>(max_bytes));
  }
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), expected_payloads(n - 1000, n - 1, 40));
  EXPECT_EQ(o.log->next_seq(), n);
}

TEST_F(OutboxLog, SecondOpenIsRefusedWhileLocked) {
  auto first = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(first.ec);
  auto second = open_log(fs_, tmp_.outbox());
  EXPECT_EQ(second.log, nullptr);
  EXPECT_EQ(second.ec, make_error_code(outbox_errc::locked));
  EXPECT_NE(second.ec.message().find("another socket or process"), std::string::npos);
  first.log->close();
  auto third = open_log(fs_, tmp_.outbox());
  EXPECT_FALSE(third.ec);
  EXPECT_NE(third.log, nullptr);
}

TEST_F(OutboxLog, SecondOpenFromAnotherProcessIsRefused) {
  auto first = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(first.ec);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    posix_file_system fs;
    std::error_code ec;
    outbox_recovery_report report;
    auto log = outbox_log::open(fs, tmp_.outbox(), ec, report);
    ::_exit(log == nullptr && ec == make_error_code(outbox_errc::locked) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child could open a locked outbox";
}

TEST_F(OutboxLog, FilesAreOwnerOnly) {
  const mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  {
    auto o = open_log(fs_, tmp_.outbox() + "/nested");
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 1);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(write_file_atomic(fs_, o.log->directory_fd(), "last-event-id", "42"));
  }
  ::umask(old_umask);
  auto mode_of = [](const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode_of(tmp_.outbox()), 0700u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested"), 0700u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested/LOCK"), 0600u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested/last-event-id"), 0600u);
  const auto segments = segment_files(tmp_.outbox() + "/nested");
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(mode_of(segments[0]), 0600u);
}

TEST_F(OutboxLog, SmallFilesBesideTheOutbox) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  std::string value;
  const int dir = o.log->directory_fd();
  EXPECT_EQ(read_small_file(fs_, dir, "last-event-id", value),
            std::errc::no_such_file_or_directory);
  ASSERT_FALSE(write_file_atomic(fs_, dir, "last-event-id", "evt-1"));
  ASSERT_FALSE(write_file_atomic(fs_, dir, "last-event-id", "evt-2"));
  ASSERT_FALSE(read_small_file(fs_, dir, "last-event-id", value));
  EXPECT_EQ(value, "evt-2");
  EXPECT_EQ(read_small_file(fs_, dir, "last-event-id", value, 3),
            make_error_code(outbox_errc::file_too_large));
  EXPECT_FALSE(stdfs::exists(tmp_.outbox() + "/last-event-id.tmp"));
  o.log.reset();
  // Foreign files in the directory are left alone by recovery.
  auto again = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(again.ec);
  ASSERT_FALSE(read_small_file(fs_, again.log->directory_fd(), "last-event-id", value));
  EXPECT_EQ(value, "evt-2");
}

TEST_F(OutboxLog, RejectsOversizedRecordsWithoutWriting) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  const auto bytes = o.log->disk_bytes();
  auto batch = make_batch(1, 2);
  batch[1].key.assign(outbox_max_key_size + 1, 'k');
  EXPECT_EQ(o.log->append(batch), make_error_code(outbox_errc::record_too_large));
  EXPECT_EQ(o.log->disk_bytes(), bytes);
  EXPECT_TRUE(o.log->pending().empty());
  EXPECT_EQ(o.log->next_seq(), 1u);
}

TEST_F(OutboxLog, ClosedLogRefusesWork) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_FALSE(o.log->close());
  EXPECT_FALSE(o.log->close());
  auto batch = make_batch(1, 1);
  EXPECT_EQ(o.log->append(batch), make_error_code(outbox_errc::closed));
  EXPECT_EQ(o.log->sync(), make_error_code(outbox_errc::closed));
  EXPECT_EQ(o.log->mark_delivered(1), make_error_code(outbox_errc::closed));
}

}  // namespace
}  // namespace rws
