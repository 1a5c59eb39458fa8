#pragma once
// How each thread of ours shows up (top -H, perf, /proc/<pid>/task/*/comm) and how the kernel
// schedules it. A thread inherits both from the thread that starts it: the io thread starts the
// DNS lookups and the disk workers, so each gets its own, or they would all read "rws-io" and
// run as SCHED_BATCH. Best effort: a refusal leaves the thread as it was.
#include <pthread.h>
#include <sched.h>

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

}  // namespace rws
