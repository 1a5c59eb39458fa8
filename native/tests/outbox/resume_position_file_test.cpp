// The resume position beside the outbox, written by the disk worker: stores never block the
// caller, pile-ups are coalesced to the newest, and fsync 'none' syncs nothing.
#include "outbox/resume_position_file.hpp"

#include <gtest/gtest.h>

#include <future>

#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers

class ResumePositionFile : public OutboxLog {
 protected:
  tests::fault_injecting_file_system counting_{fs_};
};

TEST_F(ResumePositionFile, StoresQueuedBehindASlowDiskAreCoalescedToTheNewest) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  disk_worker worker;
  resume_position_file file(counting_, o.log->directory_fd(), worker, true);
  EXPECT_EQ(file.load(), std::nullopt);
  // The worker is busy (a slow fdatasync, say) while 100 positions arrive.
  std::promise<void> release;
  worker.submit([held = release.get_future().share()] { held.wait(); });
  for (int i = 1; i <= 100; ++i) file.store(std::to_string(i));
  EXPECT_EQ(counting_.renames(), 0);  // nothing written on the caller's thread
  release.set_value();
  ASSERT_TRUE(worker.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(counting_.renames(), 1);  // one write, of the newest
  EXPECT_EQ(file.load(), "100");
  EXPECT_EQ(read_bytes(tmp_.outbox() + "/last-event-id"), "100");
  EXPECT_GE(counting_.syncs(), 1);
  EXPECT_GE(counting_.directory_syncs(), 1);
}

TEST_F(ResumePositionFile, FsyncNoneWritesWithoutSyncing) {
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  disk_worker worker;
  resume_position_file file(counting_, o.log->directory_fd(), worker, false);
  file.store("\"evt-7\"");
  ASSERT_TRUE(worker.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(file.load(), "\"evt-7\"");
  EXPECT_EQ(counting_.syncs(), 0);
  EXPECT_EQ(counting_.directory_syncs(), 0);
}

}  // namespace
}  // namespace rws
