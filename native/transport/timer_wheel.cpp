#include "transport/timer_wheel.hpp"

namespace rws {

void timer_wheel::arm(entry& e, time_point due) {
  e.cancel();
  slots_.try_emplace(due).first->second.push_back(e);
  // Also when moving `e` emptied the slot waited for: a heartbeat's answered probe leaves its
  // timeout slot empty every round, and the thread should not wake up for it.
  if (!waiting_ || due < waiting_for_ || slots_.begin()->second.empty()) wait_for_earliest();
}

void timer_wheel::wait_for_earliest() {
  // Slots emptied by cancellations are dropped once they come first, so the timer never waits
  // for an instant nobody needs, and an io thread with no entries left has no wait pending.
  while (!slots_.empty() && slots_.begin()->second.empty()) slots_.erase(slots_.begin());
  if (slots_.empty()) {
    if (waiting_) timer_.cancel();
    waiting_ = false;
    return;
  }
  waiting_ = true;
  waiting_for_ = slots_.begin()->first;
  timer_.expires_at(waiting_for_);  // cancels a wait for a later instant (its handler sees the error)
  // `this` outlives the wait: the io_context shuts its services down (cancelling the timer and
  // destroying the handler unrun) before it destroys them.
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // moved earlier, or shutdown
    waiting_ = false;
    fire();
  });
}

void timer_wheel::fire() {
  // Every entry due now moves to one list first: an on_due() may arm or cancel any entry (its
  // own or another's), and what it arms waits for the next turn, so a callback that keeps
  // arming at once cannot hold the io thread.
  list_head due;
  const time_point now = std::chrono::steady_clock::now();
  for (auto it = slots_.begin(); it != slots_.end() && it->first <= now; it = slots_.erase(it)) {
    due.splice_back(it->second);  // (nothing if emptied by cancellations)
  }
  while (!due.empty()) {
    auto& e = static_cast<entry&>(*due.next());
    e.unlink();
    e.on_due();
  }
  if (!waiting_) wait_for_earliest();
}

void timer_wheel::shutdown() {
  timer_.cancel();
  // Owners that outlive the io_context (their last reference dropped with its queued handlers)
  // cancel their entries later: leave none pointing into the slots about to go.
  for (auto& [at, head] : slots_) {
    while (!head.empty()) head.next()->unlink();
  }
  slots_.clear();
  waiting_ = false;
}

}  // namespace rws
