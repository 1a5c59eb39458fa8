#include "transport/endpoint_race.hpp"

#include <algorithm>

#include <boost/asio/error.hpp>

namespace rws {

endpoint_race::endpoint_race(boost::asio::io_context& io, std::vector<tcp::endpoint> endpoints, handler on_done,
                             std::chrono::milliseconds stagger)
    : io_(io),
      endpoints_(interleave(std::move(endpoints))),
      stagger_timer_(io),
      stagger_(stagger),
      on_done_(std::move(on_done)) {}

std::vector<endpoint_race::tcp::endpoint> endpoint_race::interleave(std::vector<tcp::endpoint> endpoints) {
  std::vector<tcp::endpoint> v6, v4, out;
  for (auto& e : endpoints) (e.address().is_v6() ? v6 : v4).push_back(e);
  out.reserve(endpoints.size());
  for (std::size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
    if (i < v6.size()) out.push_back(v6[i]);
    if (i < v4.size()) out.push_back(v4[i]);
  }
  return out;
}

void endpoint_race::start() {
  if (endpoints_.empty()) {
    finish(boost::asio::error::host_not_found, nullptr);
    return;
  }
  start_next();
}

void endpoint_race::start_next() {
  if (!on_done_ || next_ >= endpoints_.size()) return;
  const std::size_t index = next_++;
  attempts_.push_back(std::make_unique<io_socket>(io_));
  attempts_.back()->async_connect(endpoints_[index], [self = shared_from_this(), index](const error_code& ec) {
    self->on_attempt(index, ec);
  });
  if (next_ < endpoints_.size()) {
    // The next address starts after the stagger even if this one is still trying (a blackhole).
    stagger_timer_.expires_after(stagger_);
    stagger_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->start_next();
    });
  }
}

void endpoint_race::on_attempt(std::size_t index, const error_code& ec) {
  if (!on_done_) return;
  if (!ec) {
    finish({}, attempts_[index].get());
    return;
  }
  last_error_ = ec;
  ++failed_;
  if (failed_ == endpoints_.size()) {
    finish(last_error_, nullptr);
  } else if (index + 1 == next_) {
    // The newest attempt failed before its stagger ran out: do not wait, start the next now.
    stagger_timer_.cancel();
    start_next();
  }
}

void endpoint_race::finish(const error_code& ec, io_socket* winner) {
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  stagger_timer_.cancel();
  io_socket result(io_);
  if (winner) result = std::move(*winner);
  cancel();
  if (done) done(ec, std::move(result));
}

void endpoint_race::cancel() {
  on_done_ = nullptr;
  stagger_timer_.cancel();
  error_code ignored;
  for (auto& attempt : attempts_) {
    if (attempt->is_open()) attempt->close(ignored);
  }
}

}  // namespace rws
