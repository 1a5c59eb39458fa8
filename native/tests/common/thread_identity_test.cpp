// set_own_scheduling: the calling thread gets the policy and time slice asked for and no other
// thread changes, a thread started by a short-slice thread can go back to standard (what the DNS
// and disk threads do), and a thread under another policy is left alone. Read back from the
// kernel (/proc/thread-self/sched). Custom slices came with Linux 6.12: elsewhere all but the
// last test skip.
#include "common/thread_identity.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

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

TEST_F(ThreadIdentityTest, ShortSliceIsSchedOtherWithTheShortSliceForTheCallingThreadOnly) {
  sched_view inside, back;
  on_new_thread([&] {
    set_own_scheduling(thread_policy::short_slice);
    inside = *own_sched();
    set_own_scheduling(thread_policy::standard);
    back = *own_sched();
  });
  EXPECT_EQ(inside.policy, SCHED_OTHER);
  EXPECT_EQ(inside.slice, short_time_slice_ns);
  EXPECT_EQ(back.policy, SCHED_OTHER);
  EXPECT_EQ(back.slice, default_slice);
  const auto here = *own_sched();  // the starting thread kept its own
  EXPECT_EQ(here.policy, SCHED_OTHER);
  EXPECT_EQ(here.slice, default_slice);
}

TEST_F(ThreadIdentityTest, AThreadStartedByAShortSliceThreadCanGoBackToStandard) {
  sched_view inherited, reset;
  on_new_thread([&] {
    set_own_scheduling(thread_policy::short_slice);
    on_new_thread([&] {
      inherited = *own_sched();
      set_own_scheduling(thread_policy::standard);
      reset = *own_sched();
    });
  });
  EXPECT_EQ(inherited.policy, SCHED_OTHER);
  EXPECT_EQ(inherited.slice, short_time_slice_ns);
  EXPECT_EQ(reset.policy, SCHED_OTHER);
  EXPECT_EQ(reset.slice, default_slice);
}

TEST_F(ThreadIdentityTest, ABatchThreadGetsTheShortSliceUnderSchedOther) {
  sched_view after;
  on_new_thread([&] {
    sched_param param{};
    ASSERT_EQ(pthread_setschedparam(pthread_self(), SCHED_BATCH, &param), 0);
    set_own_scheduling(thread_policy::short_slice);
    after = *own_sched();
  });
  EXPECT_EQ(after.policy, SCHED_OTHER);
  EXPECT_EQ(after.slice, short_time_slice_ns);
}

TEST_F(ThreadIdentityTest, KeepsResetOnForkWhichItCannotDrop) {
  int policy_after = -1;
  std::optional<sched_view> after;
  on_new_thread([&] {
    sched_param param{};
    ASSERT_EQ(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &param), 0);
    set_own_scheduling(thread_policy::short_slice);
    policy_after = sched_getscheduler(0);
    after = own_sched();
  });
  EXPECT_EQ(policy_after, SCHED_OTHER | SCHED_RESET_ON_FORK);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->slice, short_time_slice_ns);
}

TEST_F(ThreadIdentityTest, LeavesAThreadUnderAnotherPolicyAlone) {
  int policy_after = -1;
  on_new_thread([&] {
    sched_param param{};
    ASSERT_EQ(pthread_setschedparam(pthread_self(), SCHED_IDLE, &param), 0);
    set_own_scheduling(thread_policy::short_slice);
    policy_after = sched_getscheduler(0);
  });
  EXPECT_EQ(policy_after, SCHED_IDLE);
}

// On every kernel, custom slices or not: the short slice under SCHED_OTHER, or SCHED_BATCH
// (before Linux 6.12), as the kernel reports it (sched_getattr, which /proc may not show).
TEST(ThreadIdentity, ShortSliceEndsWithItsSliceOrUnderSchedBatch) {
  sched_attr_v1 attr{};
  int got = -1;
  on_new_thread([&] {
    set_own_scheduling(thread_policy::short_slice);
    got = static_cast<int>(syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0));
  });
  ASSERT_EQ(got, 0);
  if (attr.sched_policy == SCHED_OTHER) {
    EXPECT_EQ(attr.sched_runtime, short_time_slice_ns);
  } else {
    EXPECT_EQ(attr.sched_policy, static_cast<std::uint32_t>(SCHED_BATCH));
  }
  if (kernel_has_custom_slices()) {
    EXPECT_EQ(attr.sched_policy, static_cast<std::uint32_t>(SCHED_OTHER));
  }
}

}  // namespace
}  // namespace rws
