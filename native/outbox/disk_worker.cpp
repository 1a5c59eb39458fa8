#include "outbox/disk_worker.hpp"

#include "common/thread_identity.hpp"

namespace rws {

disk_worker::disk_worker() : thread_([this] { run(); }) {
  set_thread_name(thread_.native_handle(), "rws-disk");
}

disk_worker::~disk_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void disk_worker::submit(job work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(work));
  }
  wake_.notify_one();
}

bool disk_worker::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, limit, [this] { return jobs_.empty() && !busy_; });
}

void disk_worker::retire(std::unique_ptr<disk_worker> worker, job last) {
  disk_worker* self = worker.release();
  self->thread_.detach();  // not joinable from here on: the destructor, run below, skips the join
  std::lock_guard<std::mutex> lock(self->mutex_);
  self->jobs_.push_back(std::move(last));
  self->stopping_ = true;
  self->retired_ = true;
  // Under the lock: the thread cannot reach its end (and delete the worker) before this returns.
  self->wake_.notify_one();
}

void disk_worker::run() {
  set_own_scheduling(thread_policy::standard);  // not the io thread's (common/thread_identity.hpp)
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) {  // stopping, and everything submitted has run
      if (retired_) {
        lock.unlock();
        delete this;
      }
      return;
    }
    job work = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    work();
    work = nullptr;  // whatever the job captured is released here, before reporting idle
    lock.lock();
    busy_ = false;
    if (jobs_.empty()) idle_.notify_all();
  }
}

}  // namespace rws
