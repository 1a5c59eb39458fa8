#include "common/small_mutex.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace rws {
namespace {

TEST(SmallMutex, IsFourBytes) { EXPECT_EQ(sizeof(small_mutex), 4u); }

TEST(SmallMutex, TryLockFailsWhileHeldAndSucceedsAfter) {
  small_mutex m;
  m.lock();
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

// Four threads add to one plain counter under the lock; a lost update (two holders at once)
// shows as a smaller total. The sections are short and many, so the threads contend and sleep.
TEST(SmallMutex, KeepsOneHolderAtATimeUnderContention) {
  small_mutex m;
  std::uint64_t counter = 0;
  constexpr int threads = 4, rounds = 200000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard lock(m);
        counter = counter + 1;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(counter, std::uint64_t{threads} * rounds);
}

// A thread waiting in lock() sleeps until the holder lets go, then gets the lock.
TEST(SmallMutex, AWaiterIsWokenByUnlock) {
  small_mutex m;
  m.lock();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    std::lock_guard lock(m);
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(got.load());
  m.unlock();
  waiter.join();
  EXPECT_TRUE(got.load());
}

}  // namespace
}  // namespace rws
