#pragma once
// The thread that does an outbox's blocking disk work: fdatasync for the group commit,
// the resume-position file (write, fdatasync, rename, fsync of the directory) and the unlink of
// delivered segments. The io thread only appends (page-cache writes) and never waits on a disk,
// so a slow disk delays this outbox's receipts and nothing else: not pongs, heartbeats or reads
// of any socket on the shared io thread.
//
// Jobs run one at a time in submission order, which is what the outbox relies on: a segment
// deletion submitted after a sync runs after it. A job reports back by handing a completion to
// the `post_back` function it was given (the session's io_context), never by touching the
// outbox from this thread. One worker per file outbox; sockets without a file outbox have none.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace rws {

class disk_worker {
 public:
  using job = std::function<void()>;

  disk_worker();
  // Runs every job already submitted, then joins. Must not run on the worker thread.
  ~disk_worker();
  disk_worker(const disk_worker&) = delete;
  disk_worker& operator=(const disk_worker&) = delete;

  void submit(job work);
  // Waits until every job submitted so far has finished, at most `limit` (teardown, where the
  // final sync must not hang the caller forever on a dead disk). False on timeout.
  bool wait_idle(std::chrono::milliseconds limit);
  // Lets the worker finish on its own: it runs every job submitted so far, then `last`, then
  // deletes itself, however long the disk takes. Returns at once, for a caller that must not
  // wait for a disk that stopped answering (an outbox ending after its deadline).
  static void retire(std::unique_ptr<disk_worker> worker, job last);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;  // a job was submitted, or stopping
  std::condition_variable idle_;  // the queue ran empty
  std::deque<job> jobs_;          // guarded by mutex_
  bool busy_ = false;             // a job is running; guarded by mutex_
  bool stopping_ = false;         // guarded by mutex_
  bool retired_ = false;          // retire(): the thread deletes the worker; guarded by mutex_
  std::thread thread_;            // last: starts once the fields above exist
};

}  // namespace rws
