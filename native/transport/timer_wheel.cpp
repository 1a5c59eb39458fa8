#include "transport/timer_wheel.hpp"

namespace rws {

void timer_wheel::unlink(node& n) {
  n.prev_->next_ = n.next_;
  n.next_->prev_ = n.prev_;
  n.prev_ = n.next_ = nullptr;
}

void timer_wheel::link_before(node& head, node& n) {
  n.prev_ = head.prev_;
  n.next_ = &head;
  head.prev_->next_ = &n;
  head.prev_ = &n;
}

void timer_wheel::arm(entry& e, time_point due) {
  e.cancel();
  link_before(slots_.try_emplace(due).first->second, e);
  // Also when moving `e` emptied the slot waited for: a heartbeat's answered probe leaves its
  // timeout slot empty every round, and the thread should not wake up for it.
  const node& first = slots_.begin()->second;
  if (!waiting_ || due < waiting_for_ || first.next_ == &first) wait_for_earliest();
}

void timer_wheel::wait_for_earliest() {
  // Slots emptied by cancellations are dropped once they come first, so the timer never waits
  // for an instant nobody needs, and an io thread with no entries left has no wait pending.
  while (!slots_.empty() && slots_.begin()->second.next_ == &slots_.begin()->second) slots_.erase(slots_.begin());
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
  struct : node {
  } due;
  due.prev_ = due.next_ = &due;
  const time_point now = std::chrono::steady_clock::now();
  for (auto it = slots_.begin(); it != slots_.end() && it->first <= now; it = slots_.erase(it)) {
    node& head = it->second;
    if (head.next_ == &head) continue;  // emptied by cancellations
    head.next_->prev_ = due.prev_;
    due.prev_->next_ = head.next_;
    head.prev_->next_ = &due;
    due.prev_ = head.prev_;
  }
  while (due.next_ != &due) {
    auto& e = static_cast<entry&>(*due.next_);
    unlink(e);
    e.on_due();
  }
  if (!waiting_) wait_for_earliest();
}

void timer_wheel::shutdown() {
  timer_.cancel();
  // Owners that outlive the io_context (their last reference dropped with its queued handlers)
  // cancel their entries later: leave none pointing into the slots about to go.
  for (auto& [at, head] : slots_) {
    while (head.next_ != &head) unlink(*head.next_);
  }
  slots_.clear();
  waiting_ = false;
}

}  // namespace rws
