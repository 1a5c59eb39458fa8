// The disk worker's retire(): the caller goes on at once, however long the job in progress takes
// (a disk that stopped answering), and the worker still runs everything it was given, in order,
// then ends by itself (LeakSanitizer, in the sanitizer build, finds a worker whose thread ended
// without deleting it).
#include "outbox/disk_worker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

namespace rws {
namespace {

TEST(DiskWorker, RetireReturnsAtOnceAndTheWorkerStillRunsEveryJobInOrder) {
  auto worker = std::make_unique<disk_worker>();
  std::promise<void> disk_answers;
  std::mutex mutex;
  std::vector<int> ran;
  auto note = [&](int job) {
    std::lock_guard<std::mutex> lock(mutex);
    ran.push_back(job);
  };
  // A job stuck in the kernel (an fdatasync on a hung disk), and one queued behind it.
  worker->submit([&, held = disk_answers.get_future().share()] {
    held.wait();
    note(1);
  });
  worker->submit([&] { note(2); });
  // Shared: the worker may still be returning from set_value() when this test ends.
  auto last_ran = std::make_shared<std::promise<void>>();
  auto last_done = last_ran->get_future();
  disk_worker::retire(std::move(worker), [note, last_ran] {
    note(3);
    last_ran->set_value();
  });
  // retire() did not wait for the stuck job: nothing has run yet.
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(ran.empty());
  }
  disk_answers.set_value();
  ASSERT_EQ(last_done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(DiskWorker, AnIdleWorkerRetiresByRunningItsLastJob) {
  auto worker = std::make_unique<disk_worker>();
  ASSERT_TRUE(worker->wait_idle(std::chrono::seconds(5)));
  auto last_ran = std::make_shared<std::promise<void>>();
  auto last_done = last_ran->get_future();
  disk_worker::retire(std::move(worker), [last_ran] { last_ran->set_value(); });
  EXPECT_EQ(last_done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace rws
