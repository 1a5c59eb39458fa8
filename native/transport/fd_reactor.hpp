#pragma once
// Readiness of open plain-TCP connections through one epoll set per io thread, which Asio watches
// as a single descriptor. An Asio socket keeps a descriptor state in Asio's reactor for as long
// as it is open (168 bytes: a mutex, three operation queues) and, while idle, its pending wait
// for readability (~120 bytes): ~0.3 KB per idle connection (bench idle-5000: RSS). Here a
// descriptor's state is a watch embedded in its owner (the transport), which keeps the waiting
// handler itself: a wait starts no operation and costs no syscall, where Asio's wait costs an
// operation and an epoll_ctl each time.
//
// Edge-triggered, and nothing is lost between a read and the next wait: an edge that comes while
// nobody waits is remembered (read_ready_), and a read clears that memory just before it reads
// (begin_read), so a wait completes at once only for bytes that came after the last read began.
// The set itself is drained before Asio's wait on it is renewed, and renewing it (Asio's
// EPOLL_CTL_MOD) reports events that arrived in between. io thread only.
#include <sys/epoll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "common/list_node.hpp"

namespace rws {

class fd_reactor : public boost::asio::execution_context::service {
 public:
  using key_type = fd_reactor;
  static inline boost::asio::execution_context::id id;
  using ready_handler = std::function<void(const boost::system::error_code&)>;

  // One descriptor's registration, embedded in its owner. Destroying it stops it. Linked into
  // the reactor's list of watches (for shutdown).
  class watch : protected list_node {
   public:
    watch() = default;
    ~watch() { stop(); }

    // Registers `fd` (made non-blocking) with the io thread's set, for readability. The caller
    // keeps the descriptor, and closes it after stop().
    boost::system::error_code start(boost::asio::io_context& io, int fd);
    // Deregisters; waits still pending are dropped without being called (see take_reader()).
    // The io_context's shutdown detaches every watch the same way (active() is then false).
    void stop();
    bool active() const { return reactor_ != nullptr; }
    int fd() const { return fd_; }

    // `handler` runs once the descriptor is readable or has failed (never inside this call):
    // at once if bytes came since begin_read() or the peer's side has ended, otherwise at the
    // next edge. An error (not started) means it will not run.
    boost::system::error_code wait_readable(ready_handler&& handler);
    // The same for room to write; the first call adds writability to the registration. Never
    // completes from a post (the handler may hold its owner only by a plain pointer).
    boost::system::error_code wait_writable(ready_handler&& handler);
    // Just before a read (or write) of the descriptor: what it finds covers every edge so far,
    // except an end (see ended_).
    void begin_read() { read_ready_ = false; }
    void begin_write() { write_ready_ = false; }
    // The pending waits, for their owner to complete with an error when it closes.
    ready_handler take_reader() { return std::exchange(reader_, nullptr); }
    std::unique_ptr<ready_handler> take_writer() { return std::move(writer_); }

   private:
    friend class fd_reactor;
    fd_reactor* reactor_ = nullptr;
    int fd_ = -1;
    bool writes_watched_ : 1 = false;  // EPOLLOUT is part of the registration (added by the first wait)
    bool read_ready_ : 1 = false;      // an edge came while nobody waited, since begin_read()
    bool write_ready_ : 1 = false;
    // The peer's side ended (EPOLLRDHUP, EPOLLHUP or EPOLLERR): from then on every wait for bytes
    // completes at once, until a read finds the end. Its edge comes once, often with the last
    // bytes: a read that takes those bytes and stops short of the end ("drained") would
    // otherwise wait for an edge that never comes, and the connection would hang on a peer that
    // reset it (test: FdReactorTest.AnEndThatCameWithBytesIsFoundByTheNextWait).
    bool ended_ : 1 = false;
    bool failed_ : 1 = false;  // EPOLLHUP or EPOLLERR: the same for waits for room
    ready_handler reader_;
    // Made by a write that has to wait for room (most connections never do): 8 bytes, not 32.
    std::unique_ptr<ready_handler> writer_;
  };

  explicit fd_reactor(boost::asio::io_context& io);
  static fd_reactor& of(boost::asio::io_context& io) { return boost::asio::use_service<fd_reactor>(io); }

  // Watches registered now. For tests.
  std::size_t watch_count() const;

 private:
  void wait_for_events();
  void drain();
  void deliver(watch& w, std::uint32_t events);
  bool stopped_in_batch(const watch* w) const;
  void complete_soon(ready_handler handler);
  void shutdown() override;

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor set_;  // the epoll set; invalid if epoll_create1 failed
  list_head watches_;
  bool waiting_ = false;
  bool dispatching_ = false;
  // Watches stopped while a batch of events is delivered: the batch's later events for them are
  // dropped (the memory may already belong to another watch).
  std::vector<const watch*> stopped_;
};

}  // namespace rws
