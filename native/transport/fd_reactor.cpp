#include "transport/fd_reactor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>

namespace rws {
namespace {

using boost::system::error_code;

error_code last_error() { return error_code(errno, boost::asio::error::get_system_category()); }

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLERR | EPOLLHUP | EPOLLET;

}  // namespace

fd_reactor::fd_reactor(boost::asio::io_context& io)
    : boost::asio::execution_context::service(io), io_(io), set_(io) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return;  // start() reports it
  error_code ec;
  set_.assign(fd, ec);
  if (ec) ::close(fd);
}

std::size_t fd_reactor::watch_count() const {
  std::size_t n = 0;
  for (const list_node* p = watches_.next(); p != &watches_; p = p->next()) ++n;
  return n;
}

error_code fd_reactor::watch::start(boost::asio::io_context& io, int fd) {
  stop();
  fd_reactor& reactor = of(io);
  if (!reactor.set_.is_open()) return boost::asio::error::no_descriptors;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) return last_error();
  epoll_event ev{};
  ev.events = read_events;
  ev.data.ptr = this;
  if (::epoll_ctl(reactor.set_.native_handle(), EPOLL_CTL_ADD, fd, &ev) < 0) return last_error();
  reactor_ = &reactor;
  fd_ = fd;
  writes_watched_ = read_ready_ = write_ready_ = ended_ = failed_ = false;
  reactor.watches_.push_back(*this);
  if (!reactor.waiting_) reactor.wait_for_events();
  return {};
}

void fd_reactor::watch::stop() {
  if (!reactor_) return;
  // Before the descriptor closes (a closed one leaves the set by itself, unless it was
  // duplicated: a forked child, or an fd passed elsewhere, would keep it registered).
  ::epoll_ctl(reactor_->set_.native_handle(), EPOLL_CTL_DEL, fd_, nullptr);
  unlink();
  if (reactor_->dispatching_) reactor_->stopped_.push_back(this);
  // The last one: an io thread with no connection keeps no wait pending.
  if (reactor_->watches_.empty() && reactor_->waiting_) {
    error_code ignored;
    reactor_->set_.cancel(ignored);
  }
  reactor_ = nullptr;
  fd_ = -1;
  // Dropped, not called: a wait's handler may hold the owner (the connection), and the owner
  // decides what to report (tcp_transport::close completes its waits with operation_aborted).
  ready_handler reader = std::exchange(reader_, nullptr);
  std::unique_ptr<ready_handler> writer = std::move(writer_);
}

error_code fd_reactor::watch::wait_readable(ready_handler&& handler) {
  if (!reactor_) return boost::asio::error::bad_descriptor;
  if (read_ready_ || ended_) {
    read_ready_ = false;
    reactor_->complete_soon(std::move(handler));
    return {};
  }
  reader_ = std::move(handler);
  return {};
}

error_code fd_reactor::watch::wait_writable(ready_handler&& handler) {
  if (!reactor_) return boost::asio::error::bad_descriptor;
  if (failed_) {
    reactor_->complete_soon(std::move(handler));  // the write finds the error
    return {};
  }
  // Writability is added when first needed and kept (as Asio does): a connection that never has
  // to wait for room is not woken by every ACK. Registering it, like re-registering after an
  // edge nobody waited for (not expected: begin_write() comes just before the write that could
  // not finish), reports room that is there now.
  if (!writes_watched_ || write_ready_) {
    epoll_event ev{};
    ev.events = read_events | EPOLLOUT;
    ev.data.ptr = this;
    if (::epoll_ctl(reactor_->set_.native_handle(), EPOLL_CTL_MOD, fd_, &ev) < 0) return last_error();
    writes_watched_ = true;
    write_ready_ = false;
  }
  writer_ = std::make_unique<ready_handler>(std::move(handler));
  return {};
}

void fd_reactor::complete_soon(ready_handler handler) {
  boost::asio::post(io_, [h = std::move(handler)] { h({}); });
}

void fd_reactor::wait_for_events() {
  waiting_ = true;
  // Renewed after each drain: Asio's wait re-registers the set (EPOLL_CTL_MOD), which reports
  // events that arrived since the drain's last look. `this` outlives the wait: the io_context
  // shuts its services down (cancelling it) before it destroys them.
  set_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const error_code& ec) {
    waiting_ = false;
    if (!ec) {
      drain();
    } else if (ec != boost::asio::error::operation_aborted) {
      return;
    }
    // Cancelled when the last watch stopped (or at shutdown, which leaves none), and renewed if
    // one started since; a watch started during the drain may have renewed it already.
    if (!waiting_ && !watches_.empty()) wait_for_events();
  });
}

void fd_reactor::drain() {
  constexpr int batch = 64;
  epoll_event events[batch];
  for (;;) {
    const int n = ::epoll_wait(set_.native_handle(), events, batch, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    dispatching_ = true;
    for (int i = 0; i < n; ++i) {
      auto* w = static_cast<watch*>(events[i].data.ptr);
      if (!stopped_in_batch(w)) deliver(*w, events[i].events);
    }
    dispatching_ = false;
    stopped_.clear();
    if (n < batch) return;  // the set was empty at that look: later events renew the wait
  }
}

bool fd_reactor::stopped_in_batch(const watch* w) const {
  return !stopped_.empty() && std::find(stopped_.begin(), stopped_.end(), w) != stopped_.end();
}

void fd_reactor::deliver(watch& w, std::uint32_t events) {
  // An error or hang-up ends both directions: the waiter finds out by reading or writing.
  const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (failed || (events & EPOLLRDHUP)) w.ended_ = true;  // before a handler that may destroy `w`
  if (failed) w.failed_ = true;
  if (failed || (events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI))) {
    if (w.reader_) {
      {
        ready_handler h = std::exchange(w.reader_, nullptr);
        h({});
      }  // destroying `h` too may stop `w`, or destroy it (its last hold on the owner)
      if (stopped_in_batch(&w)) return;
    } else {
      w.read_ready_ = true;
    }
  }
  if (failed || (events & EPOLLOUT)) {
    if (w.writer_) {
      std::unique_ptr<ready_handler> h = std::move(w.writer_);
      (*h)({});
    } else {
      w.write_ready_ = true;
    }
  }
}

void fd_reactor::shutdown() {
  error_code ignored;
  set_.cancel(ignored);
  // Waits still pending hold their owners (a connection through its handler); dropped here, after
  // every watch has left the list, so an owner destroyed by that finds nothing to stop.
  std::vector<ready_handler> dropped;
  std::vector<std::unique_ptr<ready_handler>> dropped_writers;
  while (!watches_.empty()) {
    auto& w = static_cast<watch&>(*watches_.next());
    w.unlink();
    w.reactor_ = nullptr;
    w.fd_ = -1;
    if (w.reader_) dropped.push_back(std::exchange(w.reader_, nullptr));
    if (w.writer_) dropped_writers.push_back(std::move(w.writer_));
  }
  dropped_writers.clear();
  dropped.clear();
  set_.close(ignored);
}

}  // namespace rws
