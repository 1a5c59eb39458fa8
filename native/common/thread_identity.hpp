#pragma once
// How each thread of ours shows up (top -H, perf, /proc/<pid>/task/*/comm) and how the kernel
// schedules it. A thread inherits its name, policy and time slice from the thread that starts
// it: the io thread starts the DNS lookups and the disk workers, so each gets its own, or they
// would all read "rws-io" and run as SCHED_BATCH with a short slice. Best effort: a refusal
// leaves the thread as it was.
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace rws {

enum class thread_policy {
  // SCHED_OTHER, as Node's own threads run.
  standard,
  // SCHED_BATCH (Linux; no privilege needed, the same share of CPU): a wake-up of this thread
  // does not preempt the thread running on that core, but waits until it blocks or its time
  // slice ends; on an idle core it runs at once.
  batch,
};

// Sets `thread`'s name (at most 15 characters) and policy. Called by the thread that started it,
// right after starting it, so that nothing can see the new thread under the inherited name
// before it has been scheduled (a new thread of a SCHED_BATCH one may wait for a core). The
// policy is changed only from SCHED_OTHER or SCHED_BATCH: a process run under a realtime or
// idle policy keeps what it chose.
inline void set_thread_identity(pthread_t thread, const char* name, thread_policy policy) {
#ifdef __linux__
  pthread_setname_np(thread, name);
  int current = 0;
  sched_param param{};
  if (pthread_getschedparam(thread, &current, &param) != 0) return;
  if (current != SCHED_OTHER && current != SCHED_BATCH) return;
  const int wanted = policy == thread_policy::batch ? SCHED_BATCH : SCHED_OTHER;
  if (current == wanted) return;
  param.sched_priority = 0;
  pthread_setschedparam(thread, wanted, &param);
#else
  (void)thread;
  (void)name;
  (void)policy;
#endif
}

// The shortest time slice Linux grants a SCHED_OTHER or SCHED_BATCH thread (EEVDF custom slices,
// Linux 6.12 and later).
constexpr std::uint64_t short_time_slice_ns = 100'000;

// Sets the calling thread's time slice (0: the kernel's default), leaving its policy and nice
// value as they are; a thread under any other policy is left alone. Called on the thread itself,
// because the kernel takes a thread id, not a pthread_t. A new thread inherits its starter's
// slice, and a policy change does not reset it, so the threads the io thread starts set 0 first
// thing. Has no effect on kernels before 6.12, or where the calls are refused (ENOSYS, EPERM).
//
// Why the io thread asks for a short one: its bursts of work are a few microseconds long. When
// the application thread was preempted (by the peer it just wrote to, on the same core) and the
// peer's reply then wakes the io thread, the kernel runs whichever of the two has the earliest
// virtual deadline, a thread's start plus its slice. With the default slice (0.7-3 ms) that was
// the application thread, which ran on into its event loop and slept there, only to be woken by
// the io thread a moment later: two more context switches. With a short slice the io thread
// mostly goes first, so the reply is waiting when the application thread gets to its loop
// (measured: README, Benchmarks). The io thread's share of CPU is unchanged: that is its weight,
// not its slice.
inline void set_own_time_slice(std::uint64_t slice_ns) {
#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
  struct sched_attr_v1 {  // struct sched_attr of <linux/sched/types.h>, first version
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime;
    std::uint64_t sched_deadline;
    std::uint64_t sched_period;
  } attr{};
  static_assert(sizeof(sched_attr_v1) == 48, "SCHED_ATTR_SIZE_VER0");
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return;
  if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return;
  // KEEP_POLICY (Linux 5.3): the kernel keeps whatever policy the thread has when the call lands,
  // not the one read above, which the starting thread may change meanwhile (set_thread_identity).
  // A thread that has reset-on-fork cannot drop it without privilege, so it is passed back.
  constexpr std::uint64_t reset_on_fork = 0x01;  // SCHED_FLAG_RESET_ON_FORK
  constexpr std::uint64_t keep_policy = 0x08;    // SCHED_FLAG_KEEP_POLICY
  attr.size = sizeof attr;
  attr.sched_flags = keep_policy | (attr.sched_flags & reset_on_fork);
  attr.sched_runtime = slice_ns;
  syscall(SYS_sched_setattr, 0, &attr, 0);  // best effort, as above
#else
  (void)slice_ns;
#endif
}

}  // namespace rws
