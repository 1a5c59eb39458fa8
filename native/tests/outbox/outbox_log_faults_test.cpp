// The outbox log on a sick disk: short writes, ENOSPC, EIO on fdatasync, failed truncates.
#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers
// ---- Disk errors --------------------------------------------------------------------------------

class OutboxLogFaults : public OutboxLog {
 protected:
  tests::fault_injecting_file_system faulty_{fs_};
};

TEST_F(OutboxLogFaults, ShortWriteWithEnospcKeepsNothingOfThatBatch) {
  std::uint64_t synced_size = 0;
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 3, 100);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    synced_size = segment_bytes_on_disk(tmp_.outbox());

    faulty_.fail_append(1);  // writes half the batch, then ENOSPC
    auto b = make_batch(4, 3, 100);
    EXPECT_EQ(o.log->append(b), std::errc::no_space_on_device);
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 3, 100));
    EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    EXPECT_EQ(o.log->disk_bytes(), synced_size);

    // The disk stays full for a while: every attempt fails cleanly.
    faulty_.set_disk_full(true);
    for (int i = 0; i < 3; ++i) {
      auto c = make_batch(7, 2, 100);
      EXPECT_EQ(o.log->append(c), std::errc::no_space_on_device);
      EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    }
    faulty_.set_disk_full(false);

    // Space is back.
    auto d = make_batch(10, 2, 100);
    ASSERT_FALSE(o.log->append(d));
    ASSERT_FALSE(o.log->sync());
    EXPECT_GT(d[0].seq, b[2].seq);  // the failed batch's seqs are not handed out again
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 3, 100);
  for (auto& p : expected_payloads(10, 11, 100)) expected.push_back(p);
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
}

TEST_F(OutboxLogFaults, FailedAppendLeavesEarlierUnsyncedRecordsToTheNextSync) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    auto b = make_batch(3, 2);
    ASSERT_FALSE(o.log->append(b));  // not synced yet
    faulty_.fail_append(1, ENOSPC, 5);
    auto c = make_batch(5, 2);
    EXPECT_EQ(o.log->append(c), std::errc::no_space_on_device);
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 4));
    EXPECT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, 4));
}

TEST_F(OutboxLogFaults, EioOnSyncIsNeverReportedDurable) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2, 100);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    const auto synced_size = segment_bytes_on_disk(tmp_.outbox());
    auto b = make_batch(3, 2, 100);
    ASSERT_FALSE(o.log->append(b));
    EXPECT_FALSE(o.log->mark_delivered(1));  // a mark in the same unsynced stretch
    faulty_.fail_sync(1);
    EXPECT_EQ(o.log->sync(), std::errc::io_error);
    // Everything since the last good sync is gone: from pending() and from the file.
    EXPECT_EQ(payloads(*o.log), expected_payloads(2, 2, 100));
    EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    EXPECT_EQ(o.log->disk_bytes(), synced_size);
    // And the log works on.
    auto c = make_batch(5, 2, 100);
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  // Record 1 comes back: its mark was lost with the failed sync (a redelivery, never a loss).
  auto expected = expected_payloads(1, 2, 100);
  for (auto& p : expected_payloads(5, 6, 100)) expected.push_back(p);
  EXPECT_EQ(payloads(*o.log), expected);
}

TEST_F(OutboxLogFaults, AlwaysPolicyReportsSyncFailureFromAppend) {
  outbox_log_options options;
  options.fsync = fsync_policy::always;
  auto o = open_log(faulty_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  auto a = make_batch(1, 1);
  ASSERT_FALSE(o.log->append(a));
  faulty_.fail_sync(1);
  auto b = make_batch(2, 1);
  EXPECT_EQ(o.log->append(b), std::errc::io_error);
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, 1));
  auto c = make_batch(3, 1);
  EXPECT_FALSE(o.log->append(c));
  o.log->close();
  auto again = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(again.ec);
  auto expected = expected_payloads(1, 1);
  expected.push_back(payload_for(3));
  EXPECT_EQ(payloads(*again.log), expected);
}

TEST_F(OutboxLogFaults, RollbackThatCannotTruncateDiscardsTheUnsyncedGroupAndRecovers) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    auto b = make_batch(3, 2);
    ASSERT_FALSE(o.log->append(b));  // unsynced
    faulty_.fail_append(1);
    faulty_.fail_truncate(1);  // the rollback's truncate fails too
    auto c = make_batch(5, 2);
    EXPECT_TRUE(o.log->append(c));
    // b can no longer be made durable safely: gone from pending, and the next sync says so.
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 2));
    EXPECT_EQ(o.log->sync(), std::errc::no_space_on_device);
    // The next write repairs the file first.
    auto d = make_batch(7, 1);
    ASSERT_FALSE(o.log->append(d));
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 2);
  expected.push_back(payload_for(7));
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
}

TEST_F(OutboxLogFaults, FileThatWillNotShrinkIsLeftForANewSegment) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    faulty_.fail_append(1, ENOSPC, 10);  // 10 bytes of garbage remain
    faulty_.fail_truncate(1);
    auto b = make_batch(3, 1);
    EXPECT_TRUE(o.log->append(b));
    faulty_.fail_truncate(1);     // the repair's truncate fails as well
    EXPECT_FALSE(o.log->sync());  // nothing unsynced was lost
    auto c = make_batch(4, 1);
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
    EXPECT_EQ(o.log->segment_count(), 2u);
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 2);
  expected.push_back(payload_for(4));
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 10u);  // the old segment's debris
}

TEST_F(OutboxLogFaults, LostMarkMeansRedeliveryNotLoss) {
  {
    outbox_log_options options;
    options.mark_buffer_bytes = 0;  // write each mark at once, so the fault hits it
    auto o = open_log(faulty_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 3);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    faulty_.fail_append(1);
    EXPECT_EQ(o.log->mark_delivered(2), std::errc::no_space_on_device);
    EXPECT_EQ(o.log->pending().size(), 2u);  // it was delivered all the same
    EXPECT_FALSE(o.log->mark_delivered(3));
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), (std::vector<std::string>{payload_for(1), payload_for(2)}));
}

TEST_F(OutboxLogFaults, MarksAreBufferedAndRideAlongWithTheNextWrite) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 5);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    const int writes = faulty_.appends();
    const auto bytes = o.log->disk_bytes();
    ASSERT_FALSE(o.log->mark_delivered(1));
    ASSERT_FALSE(o.log->mark_delivered(2));
    EXPECT_EQ(faulty_.appends(), writes);  // buffered
    EXPECT_EQ(o.log->disk_bytes(), bytes);
    auto b = make_batch(6, 2);
    ASSERT_FALSE(o.log->append(b));
    EXPECT_EQ(faulty_.appends(), writes + 1);  // marks and batch in one write
    EXPECT_EQ(o.log->disk_bytes(),
              bytes + 2 * outbox_record_header_size + encoded_record_size(5, 10) * 2);
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(o.log->mark_delivered(3));  // stays in the buffer until close()
  }
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    std::vector<std::uint64_t> seqs;
    for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{4, 5, 6, 7}));
    // Draining the outbox writes the marks at once: nothing left to redeliver after a crash.
    const int writes = faulty_.appends();
    for (std::uint64_t s : {4, 5, 6}) ASSERT_FALSE(o.log->mark_delivered(s));
    EXPECT_EQ(faulty_.appends(), writes);
    ASSERT_FALSE(o.log->mark_delivered(7));
    EXPECT_EQ(faulty_.appends(), writes + 1);
    // Simulate a crash: the file as it is now, without close().
    const auto dir_copy = tmp_.path() + "/copy";
    stdfs::copy(tmp_.outbox(), dir_copy);
    auto crashed = open_log(fs_, dir_copy);
    ASSERT_FALSE(crashed.ec);
    EXPECT_TRUE(crashed.log->pending().empty());
  }
}

// A real full file system: a 1 MiB tmpfs gives genuine short writes.
TEST_F(OutboxLog, RealEnospcOnASmallTmpfs) {
  const std::string mount_point = tmp_.path() + "/small";
  stdfs::create_directory(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
    std::printf("[ SKIPPED  ] cannot mount a tmpfs here (%s); real ENOSPC test skipped\n",
                std::strerror(errno));
    GTEST_SKIP();
  }
  struct unmount_guard {
    std::string path;
    ~unmount_guard() { ::umount2(path.c_str(), MNT_DETACH); }
  } guard{mount_point};

  outbox_log_options options;
  options.segment_bytes = 64 << 10;
  const std::string dir = mount_point + "/outbox";
  std::uint64_t n = 1;
  std::uint64_t durable = 0;
  std::error_code failure;
  {
    auto o = open_log(fs_, dir, options);
    ASSERT_FALSE(o.ec);
    for (int i = 0; i < 1000 && !failure; ++i) {
      auto batch = make_batch(n, 4, 3000);
      n += 4;
      failure = o.log->append(batch);
      if (!failure) failure = o.log->sync();
      if (!failure) durable = batch.back().seq;
    }
    EXPECT_EQ(failure, std::errc::no_space_on_device);
    EXPECT_EQ(o.log->pending().size(), durable);
  }
  auto o = open_log(fs_, dir, options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, durable, 3000));
  // Deliver everything: the delivered segments go, and there is room again.
  while (!o.log->pending().empty()) o.log->mark_delivered(o.log->pending().front().seq);
  auto batch = make_batch(n, 4, 3000);
  EXPECT_FALSE(o.log->append(batch));
  EXPECT_FALSE(o.log->sync());
  std::printf("[ info     ] tmpfs filled after %llu durable records; appends work after draining\n",
              static_cast<unsigned long long>(durable));
}

}  // namespace
}  // namespace rws
