#pragma once
// Posting to an io thread from a thread that may outlive its io_context. A disk worker left to
// finish on its own (outbox::close_without_waiting) reports whenever its disk answers, which may
// be after the io_context was destroyed. The gate is an Asio service of the io_context; its
// shutdown, the first step of destroying the context, closes it, and a post after that is
// dropped on the thread that made it. What goes through it must therefore be safe to destroy on
// any thread (hold no session, only a weak reference to one).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <mutex>

namespace rws {

class io_post_gate : public boost::asio::execution_context::service {
 public:
  using key_type = io_post_gate;
  static inline boost::asio::execution_context::id id;
  using poster = std::function<void(std::function<void()>)>;

  explicit io_post_gate(boost::asio::io_context& io)
      : boost::asio::execution_context::service(io), door_(std::make_shared<door>(io)) {}
  // Posts to `io` while it exists, from any thread.
  static poster to(boost::asio::io_context& io) {
    return [d = boost::asio::use_service<io_post_gate>(io).door_](std::function<void()> f) { d->post(std::move(f)); };
  }

 private:
  struct door {
    explicit door(boost::asio::io_context& context) : io(&context) {}
    void post(std::function<void()> f) {
      std::lock_guard<std::mutex> lock(mutex);
      if (io) boost::asio::post(*io, std::move(f));
    }
    std::mutex mutex;
    boost::asio::io_context* io;  // null once the io_context is being destroyed
  };
  void shutdown() override {
    std::lock_guard<std::mutex> lock(door_->mutex);
    door_->io = nullptr;
  }

  std::shared_ptr<door> door_;
};

}  // namespace rws
