#pragma once
// How each thread of ours shows up (top -H, perf, /proc/<pid>/task/*/comm) and how the kernel
// schedules it. A thread inherits its name, policy and time slice from the thread that starts
// it: the io thread starts the DNS lookups and the disk workers, so each gets its own, or they
// would all read "rws-io" and run with its short slice. Best effort: a refusal leaves the thread
// as it was.
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace rws {

enum class thread_policy {
  // SCHED_OTHER with the kernel's default time slice, as Node's own threads run.
  standard,
  // SCHED_OTHER with the shortest time slice the kernel grants (below; Linux 6.12 and later, no
  // privilege needed, the same share of CPU). Where the kernel has no custom slices, SCHED_BATCH
  // instead: a wake-up of the thread then does not preempt the one running on that core but waits
  // until it blocks or its slice ends, which was the better of the two there (README, Benchmarks).
  short_slice,
};

// Names `thread` (at most 15 characters). Called by the thread that started it, right after
// starting it, so that nothing can see the new thread under the inherited name before it has
// been scheduled (a new thread of a SCHED_BATCH one may wait for a core: before Linux 6.12 the
// io thread is one).
inline void set_thread_name(pthread_t thread, const char* name) {
#ifdef __linux__
  pthread_setname_np(thread, name);
#else
  (void)thread;
  (void)name;
#endif
}

// The shortest time slice Linux grants a SCHED_OTHER or SCHED_BATCH thread (EEVDF custom slices,
// Linux 6.12 and later).
constexpr std::uint64_t short_time_slice_ns = 100'000;

// struct sched_attr of <linux/sched/types.h>, first version (SCHED_ATTR_SIZE_VER0), for the
// sched_getattr/sched_setattr syscalls, which glibc does not wrap.
struct sched_attr_v1 {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime;  // for SCHED_OTHER/SCHED_BATCH: the time slice, in ns (6.12+)
  std::uint64_t sched_deadline;
  std::uint64_t sched_period;
};
static_assert(sizeof(sched_attr_v1) == 48, "SCHED_ATTR_SIZE_VER0");

// Gives the calling thread `policy` and its time slice (short_slice: short_time_slice_ns;
// standard: the kernel's default), keeping its nice value, made first thing on the thread itself.
// The kernel takes a thread id, not a pthread_t; and another thread changing the policy would
// carry along the slice it read before the change, which could undo the one set here.
// Only from SCHED_OTHER or SCHED_BATCH: a process run under a realtime or idle policy keeps what
// it chose. A new thread inherits both from its starter, so the threads the io thread starts
// call this with `standard`. Where the kernel has no custom slices (before 6.12), short_slice
// falls back to SCHED_BATCH with the default slice; where sched_setattr is missing or refused,
// the policy alone is set (pthread_setschedparam).
//
// Why the io thread asks for a short slice: its bursts of work are a few microseconds long. When
// the application thread was preempted (by the peer it just wrote to, on the same core) and the
// peer's reply then wakes the io thread, the kernel runs whichever of the two has the earliest
// virtual deadline, a thread's start plus its slice. With the default slice (0.7-3 ms) that was
// the application thread, which ran on into its event loop and slept there, only to be woken by
// the io thread a moment later: two more context switches. With a short slice the io thread
// mostly goes first, so the reply is waiting when the application thread gets to its loop
// (measured: README, Benchmarks). The io thread's share of CPU is unchanged: that is its weight,
// not its slice. Why SCHED_OTHER with it rather than SCHED_BATCH: the peer's reply then wakes the
// io thread at once, preempting the peer before it goes back to waiting; by the time it does,
// the next request is often there, and it skips a sleep and a wake-up (pinned echo p50 25.4 ->
// 23.3 µs). Under SCHED_BATCH the io thread waited until the peer slept.
inline void set_own_scheduling(thread_policy policy) {
#ifdef __linux__
#if defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
  sched_attr_v1 attr{};
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) == 0) {
    if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return;
    // Keeps the nice value read above. A thread that has reset-on-fork cannot drop it without
    // privilege, so it is passed back.
    const auto set = [&attr](int sched_policy, std::uint64_t slice_ns) {
      constexpr std::uint64_t reset_on_fork = 0x01;  // SCHED_FLAG_RESET_ON_FORK
      attr.size = sizeof attr;
      attr.sched_policy = static_cast<std::uint32_t>(sched_policy);
      attr.sched_flags &= reset_on_fork;
      attr.sched_priority = 0;
      attr.sched_runtime = slice_ns;  // 0: the kernel's default
      return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
    };
    if (policy == thread_policy::standard) {
      if (set(SCHED_OTHER, 0)) return;
    } else if (set(SCHED_OTHER, short_time_slice_ns)) {
      // Kernels before 6.12 take the call and ignore the slice: they report 0 for it.
      const bool read = syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) == 0;
      if (read && attr.sched_runtime != 0) return;
      if (set(SCHED_BATCH, 0)) return;
    }
  }
#endif
  // Without sched_setattr, or where it was refused: the policy alone.
  const int wanted = policy == thread_policy::short_slice ? SCHED_BATCH : SCHED_OTHER;
  int current = 0;
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &current, &param) != 0) return;
  if (current != SCHED_OTHER && current != SCHED_BATCH) return;
  param.sched_priority = 0;
  if (current != wanted) pthread_setschedparam(pthread_self(), wanted, &param);
#else
  (void)policy;
#endif
}

}  // namespace rws
