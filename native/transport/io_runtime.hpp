#pragma once
// The io thread of one Node environment (main thread or worker), shared by every socket of that
// environment. Created with the first socket, destroyed with the last (SPEC §2). Its owner (the
// binding) must drop every session before destroying it: sessions hold timers and sockets that
// belong to this io_context.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <thread>

namespace rws {

class io_runtime {
 public:
  io_runtime() : work_(boost::asio::make_work_guard(io_)), thread_([this] { run(); }) {}
  ~io_runtime() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  boost::asio::io_context& context() { return io_; }

  // Runs fn on the io thread and waits for it, at most `limit` (teardown only). Returns false
  // when it did not finish in time.
  bool run_and_wait(std::function<void()> fn, std::chrono::milliseconds limit) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    boost::asio::post(io_, [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    return finished.wait_for(limit) == std::future_status::ready;
  }

 private:
  // After each piece of work the thread keeps polling for a short while before it sleeps in
  // epoll. A send() from JavaScript that arrives meanwhile (the typical reply to a message just
  // delivered) is picked up without a cross-thread wake-up, which is what makes request/response
  // latency competitive with a single-threaded client. An idle socket costs nothing: the spin
  // only follows work. RESILIENT_WS_SPIN_US overrides it (0 turns it off) for CPU-starved hosts.
  static std::chrono::microseconds spin_after_work() {
    const char* text = std::getenv("RESILIENT_WS_SPIN_US");
    return std::chrono::microseconds(text ? std::clamp(std::atoi(text), 0, 10000) : 50);
  }

  void run() {
    const auto spin = spin_after_work();
    if (spin.count() == 0) {
      io_.run();
      return;
    }
    while (!io_.stopped()) {
      io_.run_one();
      auto until = std::chrono::steady_clock::now() + spin;
      while (!io_.stopped() && std::chrono::steady_clock::now() < until) {
        if (io_.poll()) until = std::chrono::steady_clock::now() + spin;
      }
    }
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;  // last: starts after io_ and work_ exist
};

}  // namespace rws
