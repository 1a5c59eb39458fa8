#pragma once
// The io thread of one Node environment (main thread or worker), shared by every socket of that
// environment. Created with the first socket, destroyed with the last (SPEC §2). Its owner (the
// binding) must drop every session before destroying it: sessions hold timers and sockets that
// belong to this io_context.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace rws {

class io_runtime {
 public:
  io_runtime() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
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
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;  // last: starts after io_ and work_ exist
};

}  // namespace rws
