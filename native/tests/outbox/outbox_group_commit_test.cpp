// The outbox's group commit through its disk worker: nothing unsynced goes on the wire, sends
// resolve 'persisted' only once the fdatasync covering them returned, and sends accepted while
// it runs wait for (and share) the next one.
#include "outbox/outbox.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers

// Stands in for the io_context: completions the worker posts wait here until the test runs them.
class posted_queue {
 public:
  outbox::poster poster() {
    return [this](std::function<void()> f) {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(f));
      ready_.notify_all();
    };
  }
  // Runs the next posted completion; false if none came within 10 s.
  bool run_one() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::seconds(10), [this] { return !queue_.empty(); })) return false;
    auto f = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    f();
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
};

// A file outbox in a fresh directory, its completions posted to `io`.
class GroupCommit : public OutboxLog {
 protected:
  GroupCommit() { config.path = tmp_.outbox(); }
  posted_queue io;
  outbox_config config;
  failure corrupt;
};

std::vector<outgoing_message> messages(int first, int count) {
  std::vector<outgoing_message> batch;
  for (int i = first; i < first + count; ++i) batch.push_back({"{\"n\":" + std::to_string(i) + "}", {}, false});
  return batch;
}

TEST_F(GroupCommit, RunsOnTheWorkerAndLaterSendsShareTheNextOne) {
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, io.poster()));

  std::vector<sent_receipt> accepted, persisted;
  std::vector<send_outcome> rejected;
  auto first = messages(1, 3);
  box.accept(first, 1, accepted, rejected);
  ASSERT_EQ(accepted.size(), 3u);
  EXPECT_TRUE(box.needs_sync());
  EXPECT_EQ(box.next_to_send(), nullptr);  // nothing unsynced goes on the wire

  int done_calls = 0;
  box.start_sync([&] { ++done_calls; });
  EXPECT_TRUE(box.sync_in_flight());
  // Accepted while the fdatasync runs: not covered by it.
  auto second = messages(4, 2);
  box.accept(second, 4, accepted, rejected);
  box.start_sync([&] { ++done_calls; });  // queued behind the one in flight

  ASSERT_TRUE(io.run_one());
  EXPECT_EQ(done_calls, 2);
  box.sync_appended(persisted, rejected, false);
  ASSERT_EQ(persisted.size(), 3u);  // the first three only
  EXPECT_EQ(persisted.back().request, 3u);
  EXPECT_TRUE(rejected.empty());
  EXPECT_TRUE(box.needs_sync());  // the later two wait for the next commit
  const outbox_item* item = box.next_to_send();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->payload.plain(), "{\"n\":1}");

  persisted.clear();
  box.start_sync([&] { ++done_calls; });
  ASSERT_TRUE(io.run_one());
  box.sync_appended(persisted, rejected, false);
  ASSERT_EQ(persisted.size(), 2u);
  EXPECT_FALSE(box.needs_sync());
  box.close();
}

TEST_F(GroupCommit, CloseDecidesTheCommitInFlight) {
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, io.poster()));
  std::vector<sent_receipt> accepted, persisted;
  std::vector<send_outcome> rejected;
  auto batch = messages(1, 2);
  box.accept(batch, 1, accepted, rejected);
  box.start_sync([] {});
  auto more = messages(3, 1);
  box.accept(more, 3, accepted, rejected);
  // close(): waits for the worker, applies its result, syncs the rest right here.
  box.sync_appended(persisted, rejected, true);
  EXPECT_EQ(persisted.size(), 3u);
  EXPECT_FALSE(box.needs_sync());
  box.close();
  ASSERT_TRUE(io.run_one());  // the late completion is harmless
  // And all three are on disk for the next process.
  outbox reopened(config);
  ASSERT_FALSE(reopened.open(corrupt, io.poster()));
  EXPECT_EQ(reopened.size(), 3u);
}

// An end past its deadline (the disk has not answered): close_without_waiting() returns at once
// with the sends the disk has not confirmed, the worker finishes the close and unlocks the
// directory by itself, a completion that arrives afterwards is harmless, and nothing is lost.
TEST_F(GroupCommit, CloseWithoutWaitingLeavesTheCloseToTheWorkerAndLosesNothing) {
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, io.poster()));
  std::vector<sent_receipt> accepted, persisted;
  std::vector<send_outcome> rejected;
  auto batch = messages(1, 2);
  box.accept(batch, 1, accepted, rejected);
  int done_calls = 0;
  box.start_sync([&] { ++done_calls; });
  auto more = messages(3, 1);
  box.accept(more, 3, accepted, rejected);
  // The commit's answer has not reached this thread (as with a disk that has not answered): all
  // three are undecided.
  std::vector<send_outcome> undecided;
  box.close_without_waiting(undecided);
  ASSERT_EQ(undecided.size(), 3u);
  for (std::uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(undecided[i].request, i + 1);
    EXPECT_EQ(undecided[i].error.code, failure_code::closed);
    EXPECT_NE(undecided[i].error.message.find("before its disk confirmed"), std::string::npos);
  }
  EXPECT_FALSE(box.durable());
  EXPECT_FALSE(box.sync_in_flight());
  // The commit's completion, late: applies nothing, calls its caller back.
  ASSERT_TRUE(io.run_one());
  EXPECT_EQ(done_calls, 1);
  box.sync_appended(persisted, rejected, false);
  EXPECT_TRUE(persisted.empty());
  EXPECT_TRUE(rejected.empty());
  // The worker lets the directory go once it has closed the log; the next outbox finds all three.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    outbox reopened(config);
    failure opened = reopened.open(corrupt, io.poster());
    if (!opened) {
      EXPECT_EQ(reopened.size(), 3u);
      break;
    }
    ASSERT_EQ(opened.code, failure_code::outbox_locked) << opened.message;
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the directory stayed locked";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// What a closing session waits for instead of blocking the io thread: after_disk_work() comes
// back through the io thread only once the commit before it has, so sync_appended() then has
// the commit's outcome and nothing to wait for.
TEST_F(GroupCommit, AfterDiskWorkComesBackBehindTheCommitInFlight) {
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, io.poster()));

  std::vector<sent_receipt> accepted, persisted;
  std::vector<send_outcome> rejected;
  auto batch = messages(1, 3);
  box.accept(batch, 1, accepted, rejected);
  std::vector<int> order;
  box.start_sync([&] { order.push_back(1); });
  box.after_disk_work([&] { order.push_back(2); });
  EXPECT_TRUE(order.empty());  // both come back through the io thread, none inline

  ASSERT_TRUE(io.run_one());
  ASSERT_TRUE(io.run_one());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_FALSE(box.sync_in_flight());
  EXPECT_FALSE(box.needs_sync());
  box.sync_appended(persisted, rejected);
  EXPECT_EQ(persisted.size(), 3u);
  EXPECT_TRUE(rejected.empty());
  box.close();
}

TEST(OutboxMemory, AfterDiskWorkRunsAtOnceWithoutAFileOutbox) {
  outbox box(outbox_config{});
  failure corrupt;
  ASSERT_FALSE(box.open(corrupt, [](std::function<void()>) { FAIL() << "nothing to post"; }));
  bool ran = false;
  box.after_disk_work([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace rws
