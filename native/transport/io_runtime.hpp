#pragma once
// The io thread of one Node environment (main thread or worker), shared by every socket of that
// environment. Created with the first socket, destroyed with the last. Its owner (the
// binding) must drop every session before destroying it: sessions hold timers and sockets that
// belong to this io_context.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "common/thread_identity.hpp"

namespace rws {

class io_runtime {
 public:
  io_runtime()
      : io_(std::make_unique<boost::asio::io_context>()),
        work_(boost::asio::make_work_guard(*io_)),
        thread_([io = io_.get(), exited = std::move(exited_promise_)]() mutable {
          set_own_scheduling(thread_policy::short_slice);  // see run()
          run(*io);
          exited.set_value();
        }) {
    set_thread_name(thread_.native_handle(), "rws-io");
  }
  ~io_runtime() {
    work_.reset();
    io_->stop();
    // The io thread finishes the handler it is in and returns. A handler stuck in the kernel must
    // not hang process exit or worker termination: after exit_limit the thread is left to end on
    // its own, and the io_context it still uses is deliberately leaked with it.
    if (exited_.wait_for(exit_limit) == std::future_status::ready) {
      thread_.join();
    } else {
      thread_.detach();
      (void)io_.release();
    }
  }
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  // Longest wait for the io thread when the runtime is destroyed.
  static constexpr std::chrono::milliseconds exit_limit{1000};

  boost::asio::io_context& context() { return *io_; }

  // Runs fn on the io thread and waits for it, at most `limit` (teardown only). Returns false
  // when it did not finish in time.
  bool run_and_wait(std::function<void()> fn, std::chrono::milliseconds limit) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    boost::asio::post(*io_, [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    return finished.wait_for(limit) == std::future_status::ready;
  }

 private:
  // Plain io.run(): the thread sleeps in epoll whenever there is nothing to do. It used to poll
  // for 50 µs after each piece of work, hoping to catch the reply send() without a wake-up;
  // measured with bench/run.js (echo, default scheduling and pinned to one CPU) that spin lost
  // every time — p50 52 µs with it vs 38 µs without, client CPU per round trip 61 µs vs 32 µs —
  // because it steals the core the JS thread or the peer needs, and burns CPU quota in
  // containers. No knob: the default is the only configuration.
  //
  // The shortest time slice the kernel grants, under SCHED_OTHER (set as the thread starts): after
  // a wake-up it runs before an application thread the peer preempted, and the peer's reply wakes
  // it at once (common/thread_identity.hpp). With client and far end on one CPU (bench
  // echo-64-text-pinned): p50 1.17-1.22× ws with SCHED_BATCH and the short slice, 1.07-1.10×
  // with SCHED_OTHER and it; the other rows did not move (README, Benchmarks). Kernels without
  // custom slices (before 6.12) get SCHED_BATCH, which measured better than SCHED_OTHER with the
  // default slice: p50 27.2 → 25.7 µs when it was introduced, 27.0-27.1 against 26.1-26.4 µs
  // when measured again beside the short slice.
  static void run(boost::asio::io_context& io) { io.run(); }

  // Declaration order is construction order: the thread starts last, with everything it uses.
  std::unique_ptr<boost::asio::io_context> io_;  // leaked if the thread does not stop in time
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::promise<void> exited_promise_;  // moved into the thread, which sets it when run() returns
  std::future<void> exited_ = exited_promise_.get_future();
  std::thread thread_;
};

}  // namespace rws
