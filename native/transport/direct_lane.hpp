#pragma once
// The JavaScript thread's own way onto an open connection's socket. A send() normally crosses
// to the io thread, which frames it and writes it: with the reply coming back the same way, an
// echo costs two thread hand-offs, and on one CPU each is a context switch `ws` does not pay
// (bench echo-64-text-pinned). When the socket is free — open over plain TCP without
// compression, nothing queued or being written on the io thread, no send() batch on its way
// there — the binding writes a one-message send() itself, under this lane's lock.
//
// The rules that keep the stream whole and in order:
// - JavaScript writes only while the io thread is idle (set_io_idle()) and none of its own
//   batches is still on the way to the io thread (in_transit_): nothing it writes can overtake
//   an earlier message, and nothing later can overtake it (the socket has it).
// - The io thread takes the lane (begin_io_write()) before every write, and closes it before
//   the connection leaves `open` or its socket closes: JavaScript never writes between the io
//   thread's frames, after a close frame, or to a descriptor that is gone.
// - A write the kernel takes only in part leaves the rest of that frame to the io thread, which
//   writes it before anything else (take_tail()); until then the io thread writes nothing.
//
// Sequence numbers come from one counter, shared with the in-memory outbox, so receipts number
// messages in the order they went out, whichever thread wrote them.
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "common/small_mutex.hpp"

namespace rws {

class direct_lane {
 public:
  explicit direct_lane(std::uint64_t max_payload) : max_payload_(max_payload) {}

  // --- io thread ---

  // The connection opened on `fd` (plain TCP, no compression): JavaScript may write to it once
  // the io thread says it is idle. Returns the connection's generation (never 0), which the
  // calls below take so that a connection that has been replaced cannot touch its successor's.
  std::uint64_t open(int fd) {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    io_idle_ = false;
    tail_pending_ = false;  // a tail still on its way belongs to an older connection
    return ++generation_;
  }
  // Before the connection leaves `open`, and before its socket closes: JavaScript writes no
  // more. Returns true when the rest of a frame JavaScript began on it is still on its way: the
  // connection must then write nothing more unless that rest reaches it (send_tail_first) — a
  // close frame after half a data frame would be read as the rest of that frame.
  bool close(std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation != generation_) return false;
    fd_ = -1;
    io_idle_ = false;
    return tail_pending_;
  }
  // The io thread is about to write: JavaScript waits until set_io_idle(). False while the rest
  // of a frame JavaScript began is on its way to the io thread: nothing may go out before it.
  bool begin_io_write(std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation != generation_) return true;  // an older connection's own socket
    if (tail_pending_) return false;
    io_idle_ = false;
    return true;
  }
  // Nothing is queued or being written on the io thread, and the outbox has nothing unsent.
  void set_io_idle() {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0 && !tail_pending_) io_idle_ = true;
  }
  // The session took over something JavaScript handed to the io thread (a batch, or a tail).
  // It has work now: JavaScript waits for the next set_io_idle().
  void taken_over() {
    std::lock_guard lock(mutex_);
    if (in_transit_ > 0) --in_transit_;
    io_idle_ = false;
  }
  // The tail of a frame JavaScript began on the connection of `generation` is queued first on
  // it: that connection may write again.
  void take_tail(std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation == generation_) tail_pending_ = false;
  }

  // --- JavaScript thread ---

  // A batch goes to the io thread: JavaScript writes nothing until the session has taken it.
  void handed_over() {
    std::lock_guard lock(mutex_);
    ++in_transit_;
  }

  struct write_result {
    enum class kind : std::uint8_t { not_free, written, partial } what = kind::not_free;
    std::size_t written = 0;        // bytes the kernel took (partial: the rest goes to the io thread)
    std::uint64_t seq = 0;          // written or partial: the message's sequence number
    std::uint64_t generation = 0;   // partial: the connection it began on
  };
  // Writes one message's frame if the lane is free: `frame()` builds it (only then: a lane that
  // is not free costs no framing or masking) and returns it as a string_view. partial: the
  // caller must hand the rest to the io thread (counted as in transit here). not_free: nothing
  // was written.
  template <class Frame>
  write_result try_write(Frame&& frame) {
    write_result r;
    std::lock_guard lock(mutex_);
    if (fd_ < 0 || !io_idle_ || in_transit_ != 0 || tail_pending_) return r;
    const std::string_view bytes = frame();
    ssize_t n;
    do {
      n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    // Full socket or a broken connection: the message takes the io thread's way (which learns
    // of the failure on its own and keeps the message for the next connection).
    if (n <= 0) return r;
    r.seq = next_seq.fetch_add(1, std::memory_order_relaxed);
    r.written = static_cast<std::size_t>(n);
    if (r.written == bytes.size()) {
      r.what = write_result::kind::written;
      return r;
    }
    r.what = write_result::kind::partial;
    r.generation = generation_;
    tail_pending_ = true;
    io_idle_ = false;
    ++in_transit_;
    return r;
  }

  write_result try_write(const char* data, std::size_t size) {
    return try_write([&] { return std::string_view(data, size); });
  }

  // Larger payloads take the io thread's way (the outbox refuses what exceeds its maxBytes).
  std::uint64_t max_payload() const { return max_payload_; }

  // The next sequence number, shared with the in-memory outbox.
  std::atomic<std::uint64_t> next_seq{1};

 private:
  const std::uint64_t max_payload_;
  std::uint64_t generation_ = 0;
  small_mutex mutex_;  // 4 bytes, not std::mutex's 40: every open socket has a lane
  int fd_ = -1;
  std::uint32_t in_transit_ = 0;  // send() batches on their way (one per JavaScript tick at most)
  bool io_idle_ = false;
  bool tail_pending_ = false;
};

}  // namespace rws
