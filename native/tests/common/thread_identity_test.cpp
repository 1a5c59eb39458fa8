// set_own_time_slice: the calling thread's slice changes and nothing else does (its policy, the
// other threads), and a thread started by a short-slice thread can go back to the default (what
// the DNS and disk threads do). Read back from the kernel (/proc/thread-self/sched). Custom
// slices came with Linux 6.12: elsewhere these skip.
#include "common/thread_identity.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/utsname.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace rws {
namespace {

struct sched_view {
  int policy = -1;
  std::uint64_t slice = 0;
};

// This thread's policy and slice, or nullopt where the kernel does not show the slice.
std::optional<sched_view> own_sched() {
  std::ifstream in("/proc/thread-self/sched");
  std::string line;
  sched_view v;
  bool have_slice = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, colon;
    fields >> key >> colon;
    if (key == "se.slice") have_slice = static_cast<bool>(fields >> v.slice);
    if (key == "policy") fields >> v.policy;
  }
  if (!have_slice) return std::nullopt;
  return v;
}

bool kernel_has_custom_slices() {
  utsname u{};
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 12);
}

// Runs fn on a new thread and waits for it.
template <class Fn>
void on_new_thread(Fn fn) {
  std::thread t(fn);
  t.join();
}

class ThreadIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto here = own_sched();
    if (!kernel_has_custom_slices() || !here) GTEST_SKIP() << "no custom time slices on this kernel";
    default_slice = here->slice;
    ASSERT_NE(default_slice, short_time_slice_ns);
  }
  std::uint64_t default_slice = 0;
};

TEST_F(ThreadIdentityTest, SetsTheCallingThreadsSliceOnly) {
  sched_view inside, back;
  on_new_thread([&] {
    set_own_time_slice(short_time_slice_ns);
    inside = *own_sched();
    set_own_time_slice(0);
    back = *own_sched();
  });
  EXPECT_EQ(inside.slice, short_time_slice_ns);
  EXPECT_EQ(inside.policy, SCHED_OTHER);
  EXPECT_EQ(back.slice, default_slice);
  EXPECT_EQ(own_sched()->slice, default_slice);  // this (the starting) thread kept its own
}

TEST_F(ThreadIdentityTest, AThreadStartedByAShortSliceThreadCanGoBackToTheDefault) {
  sched_view inherited, reset;
  on_new_thread([&] {
    set_own_time_slice(short_time_slice_ns);
    on_new_thread([&] {
      inherited = *own_sched();
      set_own_time_slice(0);
      reset = *own_sched();
    });
  });
  EXPECT_EQ(inherited.slice, short_time_slice_ns);
  EXPECT_EQ(reset.slice, default_slice);
}

TEST_F(ThreadIdentityTest, KeepsTheThreadsPolicy) {
  sched_view batch;
  on_new_thread([&] {
    sched_param param{};
    ASSERT_EQ(pthread_setschedparam(pthread_self(), SCHED_BATCH, &param), 0);
    set_own_time_slice(short_time_slice_ns);
    batch = *own_sched();
  });
  EXPECT_EQ(batch.policy, SCHED_BATCH);
  EXPECT_EQ(batch.slice, short_time_slice_ns);
}

}  // namespace
}  // namespace rws
