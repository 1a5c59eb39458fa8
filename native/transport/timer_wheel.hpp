#pragma once
// The deadlines of many sockets on one Asio timer per io thread. Sessions round their heartbeat
// deadlines to a grid (session_traffic.cpp, arm_heartbeat), so thousands of idle sockets fall
// due at a few dozen distinct instants. Each instant is a slot holding an intrusive list of
// entries; one timer waits for the earliest slot. An entry lives inside its owner: arming it
// allocates nothing per socket and leaves no Asio operation pending per socket (with an Asio
// timer each idle socket kept a 72-byte timer, a 96-byte wait and a heap entry: bench
// idle-5000, RSS per connection). An entry does not know its slot: a slot emptied by
// cancellations is dropped when it comes first (arm() then waits for the next one; an entry
// cancelled for good can leave one idle wake-up). io thread only.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>

#include "common/list_node.hpp"
#include "transport/io_timer.hpp"

namespace rws {

class timer_wheel : public boost::asio::execution_context::service {
 public:
  using key_type = timer_wheel;
  static inline boost::asio::execution_context::id id;
  using time_point = std::chrono::steady_clock::time_point;

  // A due time before every other: the entry runs at the next turn of the io thread.
  static constexpr time_point at_once = time_point::min();

  // One deadline, embedded in its owner, which implements on_due(). Destroying it cancels it.
  // In the list of its slot (a slot's own node is the list's head).
  class entry : protected list_node {
   public:
    bool armed() const { return linked(); }
    void cancel() {
      if (armed()) unlink();
    }

   protected:
    entry() = default;
    ~entry() { cancel(); }

   private:
    friend class timer_wheel;
    // The deadline passed; the entry is no longer armed (on_due may arm it again).
    virtual void on_due() = 0;
  };

  explicit timer_wheel(boost::asio::io_context& io) : boost::asio::execution_context::service(io), timer_(io) {}

  static timer_wheel& of(boost::asio::io_context& io) { return boost::asio::use_service<timer_wheel>(io); }

  // Sets (or moves) `e`'s deadline to `due`.
  void arm(entry& e, time_point due);

  // Distinct instants with entries still waiting (or emptied and not yet passed). For tests.
  std::size_t slot_count() const { return slots_.size(); }

 private:
  void wait_for_earliest();
  void fire();
  void shutdown() override;

  io_timer timer_;
  std::map<time_point, list_head> slots_;
  bool waiting_ = false;
  time_point waiting_for_{};
};

}  // namespace rws
