// The group commit in two halves (prepare_sync / finish_sync), as the disk worker runs it: the
// fdatasync happens elsewhere while appends go on. The contract of outbox_log.hpp must hold
// exactly as for sync(): success makes durable what was appended before prepare_sync(), failure
// discards everything since the last good sync, later appends included.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "outbox/outbox_log.hpp"
#include "tests/outbox/fault_injecting_file_system.hpp"

namespace rws {
namespace {

namespace stdfs = std::filesystem;

class OutboxLogAsyncSync : public ::testing::Test {
 protected:
  OutboxLogAsyncSync() {
    std::string pattern = (stdfs::temp_directory_path() / "rws-async-sync-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    root_ = pattern;
  }
  ~OutboxLogAsyncSync() override {
    std::error_code ec;
    stdfs::remove_all(root_, ec);
  }

  std::unique_ptr<outbox_log> open(outbox_log_options options = {}) {
    std::error_code ec;
    outbox_recovery_report report;
    auto log = outbox_log::open(faulty_, root_ + "/outbox", ec, report, options);
    EXPECT_FALSE(ec) << ec.message();
    return log;
  }

  static std::uint64_t append_one(outbox_log& log, const std::string& payload) {
    std::vector<outbox_entry> batch{{0, "k-" + payload, payload, false}};
    EXPECT_FALSE(log.append(batch));
    return batch[0].seq;
  }

  static std::vector<std::uint64_t> pending(const outbox_log& log) {
    std::vector<std::uint64_t> seqs;
    for (const auto& e : log.pending()) seqs.push_back(e.seq);
    return seqs;
  }

  // What the disk worker does with a ticket.
  std::error_code run_ticket(const sync_ticket& ticket) {
    const std::error_code ec = faulty_.sync(ticket.fd);
    faulty_.close(ticket.fd);
    return ec;
  }

  posix_file_system fs_;
  tests::fault_injecting_file_system faulty_{fs_};
  std::string root_;
};

TEST_F(OutboxLogAsyncSync, AppendsDuringTheSyncWaitForTheNextOne) {
  auto log = open();
  append_one(*log, "a");
  sync_ticket ticket;
  std::error_code decided;
  ASSERT_TRUE(log->prepare_sync(ticket, decided));
  append_one(*log, "b");  // while the fdatasync runs
  ASSERT_FALSE(log->finish_sync(ticket, run_ticket(ticket)));
  // "b" is not covered: a second ticket is needed, and a failure of that one takes back only "b".
  sync_ticket second;
  ASSERT_TRUE(log->prepare_sync(second, decided));
  faulty_.fail_sync(1);
  EXPECT_EQ(log->finish_sync(second, run_ticket(second)), std::errc::io_error);
  EXPECT_EQ(pending(*log), (std::vector<std::uint64_t>{1}));
  // Nothing left to sync now: decided at once, no ticket.
  EXPECT_FALSE(log->prepare_sync(second, decided));
  EXPECT_FALSE(decided);
}

TEST_F(OutboxLogAsyncSync, AFailedSyncTakesBackLaterAppendsToo) {
  auto log = open();
  append_one(*log, "a");
  sync_ticket ticket;
  std::error_code decided;
  ASSERT_TRUE(log->prepare_sync(ticket, decided));
  append_one(*log, "b");
  faulty_.fail_sync(1);
  EXPECT_EQ(log->finish_sync(ticket, run_ticket(ticket)), std::errc::io_error);
  // After a failed fdatasync nothing since the last good one is known to be on disk.
  EXPECT_TRUE(pending(*log).empty());
  // And the log goes on.
  const std::uint64_t c = append_one(*log, "c");
  ASSERT_TRUE(log->prepare_sync(ticket, decided));
  EXPECT_FALSE(log->finish_sync(ticket, run_ticket(ticket)));
  EXPECT_EQ(pending(*log), (std::vector<std::uint64_t>{c}));
}

TEST_F(OutboxLogAsyncSync, FsyncNoneNeverHandsOutATicket) {
  outbox_log_options options;
  options.fsync = fsync_policy::none;
  auto log = open(options);
  append_one(*log, "a");
  sync_ticket ticket;
  std::error_code decided;
  EXPECT_FALSE(log->prepare_sync(ticket, decided));
  EXPECT_FALSE(decided);
  EXPECT_EQ(faulty_.syncs(), 0);
}

TEST_F(OutboxLogAsyncSync, NewSegmentSyncRunsInTheBackgroundAndItsFailureFailsTheNextCommit) {
  std::vector<int> background;  // descriptors handed to the "worker"
  outbox_log_options options;
  options.sync_in_background = [&](int, int fd) { background.push_back(fd); };
  auto log = open(options);
  ASSERT_EQ(background.size(), 1u);  // the first segment's start record: not synced on this thread
  EXPECT_EQ(faulty_.syncs(), 0);
  for (int fd : background) faulty_.close(fd);
  append_one(*log, "a");
  // The worker reports that the segment-start sync failed. The group commit that follows must
  // not count, even though its own fdatasync succeeds.
  log->report_background_sync_failure(std::make_error_code(std::errc::io_error));
  sync_ticket ticket;
  std::error_code decided;
  EXPECT_FALSE(log->prepare_sync(ticket, decided));
  EXPECT_EQ(decided, std::errc::io_error);
  EXPECT_TRUE(pending(*log).empty());
}

}  // namespace
}  // namespace rws
