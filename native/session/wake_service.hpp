#pragma once
// One wake detector per io thread instead of one per socket. Noticing that the machine slept
// (or the process was frozen) needs a look at the clocks about once a second; when every open
// session kept its own 1 s timer for that, 1,000 idle sockets meant 1,000 wake-ups a second
// (~0.3-0.7 % of a core, bench/run.js idle-5000). This Asio service — one per io_context,
// created on first use — keeps the only such timer, runs it only while some session listens,
// and tells every listener when it sees a wake; each session then probes its connection at once
// (session/heartbeat.hpp). Everything here runs on the io thread.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "session/wake_detector.hpp"
#include "transport/io_timer.hpp"

namespace rws {

// What a wake is told to (a session: probe the connection now). Held weakly, and as a pointer
// rather than a std::function: every open socket has one entry (bench idle-5000: RSS).
class wake_listener {
 public:
  virtual void on_wake() = 0;

 protected:
  ~wake_listener() = default;
};

class wake_service : public boost::asio::execution_context::service {
 public:
  using key_type = wake_service;
  static inline boost::asio::execution_context::id id;

  explicit wake_service(boost::asio::io_context& io) : boost::asio::execution_context::service(io), timer_(io) {}

  static wake_service& of(boost::asio::io_context& io) { return boost::asio::use_service<wake_service>(io); }

  // `listener` is told of each wake while it lives (one that dies without unsubscribing is
  // dropped at the next tick). Starts the shared timer if it is not running. Returns a token for
  // unsubscribe().
  std::uint64_t subscribe(std::weak_ptr<wake_listener> listener) {
    const std::uint64_t token = ++last_token_;
    listeners_.push_back({token, std::move(listener)});
    if (!armed_) {
      detector_.reset(clock_());
      arm();
    }
    return token;
  }

  // The timer stops by itself at its next tick once nobody listens.
  void unsubscribe(std::uint64_t token) {
    std::erase_if(listeners_, [token](const entry& e) { return e.token == token; });
  }

  // For tests: the clocks the detector reads (see native_socket::simulate_suspend).
  void set_clock(std::function<clock_reading()> clock) { clock_ = std::move(clock); }
  // For tests: look more often than once a second.
  void set_period(std::chrono::milliseconds period) { period_ = period; }

  std::size_t listener_count() const { return listeners_.size(); }

  static constexpr std::chrono::milliseconds default_period{1000};
  static constexpr std::uint64_t prune_every = 60;  // ticks between looks for dead listeners

 private:
  struct entry {
    std::uint64_t token;
    std::weak_ptr<wake_listener> listener;
  };

  void arm() {
    armed_ = true;
    due_monotonic_ms_ = clock_().monotonic_ms + period_.count();
    timer_.expires_after(period_);
    // `this` outlives the wait: the io_context shuts its services down (cancelling the timer and
    // destroying the handler unrun) before it destroys them.
    timer_.async_wait([this](const boost::system::error_code& ec) {
      armed_ = false;
      if (ec) return;
      on_tick();
    });
  }

  void on_tick() {
    const bool woke = detector_.observe(clock_(), due_monotonic_ms_);
    // Sessions unsubscribe when their connection ends; a listener whose owner died without doing
    // so is dropped at a wake or once a minute, not every second: looking at thousands of
    // owners' reference counts each tick touched memory nothing else needs (~2 % of the idle
    // profile at 5,000 sockets, bench/run.js idle-5000).
    if (woke || ++ticks_ % prune_every == 0) {
      std::erase_if(listeners_, [](const entry& e) { return e.listener.expired(); });
    }
    if (listeners_.empty()) return;  // nobody open: sleep until the next subscribe()
    if (woke) {
      // A listener may subscribe or unsubscribe from inside its callback: walk a copy.
      auto snapshot = listeners_;
      for (auto& e : snapshot) {
        if (auto alive = e.listener.lock()) alive->on_wake();
      }
    }
    if (!listeners_.empty() && !armed_) arm();
  }

  void shutdown() override {
    timer_.cancel();
    listeners_.clear();
  }

  io_timer timer_;
  wake_detector detector_;
  std::function<clock_reading()> clock_ = read_system_clocks;
  std::chrono::milliseconds period_ = default_period;
  std::vector<entry> listeners_;
  std::uint64_t last_token_ = 0;
  std::uint64_t ticks_ = 0;
  std::int64_t due_monotonic_ms_ = 0;
  bool armed_ = false;
};

}  // namespace rws
