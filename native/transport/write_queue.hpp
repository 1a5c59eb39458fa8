#pragma once
// The outgoing bytes of one connection, with one write in flight: frames accumulate in a
// pending buffer while a write is in flight, and the next write takes all of them at once (a
// batch of sends becomes one syscall). Tags mark where a message's frame ends, so a completed
// write tells which tagged messages reached the kernel in full (on_written).
//
// No allocation per message: frames are encoded straight into the pending buffer, and the two
// buffers swap roles on every write, so their capacity is reused; tags live in a vector consumed
// from a head index. A large payload is not copied in: it joins the write as a buffer of its own
// (append_shared), kept alive by its owner until the write ends. Pure bookkeeping: the
// connection does the I/O. io thread only.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rws {

class write_queue {
 public:
  // Where the next frame is encoded (append only).
  std::string& pending() { return pending_; }
  // Appends `bytes` without copying them: they go out as a buffer of their own, right after what
  // pending() holds now. `owner` keeps them alive and unchanged until the write ends (or fails).
  void append_shared(std::string_view bytes, std::shared_ptr<const void> owner);
  // The message whose frame was just appended ends here; a non-zero tag is reported by
  // end_write() once every byte up to it has been written.
  void tag_last(std::uint64_t tag);

  // Puts `bytes` ahead of everything pending, as one piece ending the message tagged `tag` (the
  // rest of a frame begun elsewhere: transport/direct_lane.hpp). Requires !writing().
  void prepend(std::string_view bytes, std::uint64_t tag);

  bool writing() const { return writing_; }
  bool has_pending() const { return !pending_.empty() || !pending_shared_.empty(); }
  // Bytes not yet handed to the kernel: pending plus the write in flight.
  std::uint64_t buffered_bytes() const {
    return pending_.size() + pending_shared_bytes_ + (writing_ ? in_flight_bytes_ : 0);
  }

  // Starts a write of everything pending: the buffers to write, in order. Requires !writing() &&
  // has_pending(). The buffers stay valid until end_write() or fail_write().
  const std::vector<std::string_view>& begin_write();
  // The write completed with `n` bytes written (all of them: the transport writes in full or
  // fails). Returns the newest tag whose frame is now fully written, 0 when none.
  std::uint64_t end_write(std::size_t n);
  // The write failed: nothing more will be written; the in-flight bytes are dropped.
  void fail_write();
  // Every buffer is small: none was grown by a burst (each keeps the size of the largest write it
  // held). The connection drops a queue that a write left empty and small, and keeps a grown one
  // for a sender that goes on (see connection::on_write).
  bool buffers_small() const;

 private:
  // A payload appended without a copy: it goes out after `offset` bytes of its write's buffer.
  struct shared_piece {
    std::size_t offset;
    std::string_view bytes;
    std::shared_ptr<const void> owner;
  };

  std::string pending_;
  std::string in_flight_;
  std::vector<shared_piece> pending_shared_;
  std::vector<shared_piece> in_flight_shared_;
  std::uint64_t pending_shared_bytes_ = 0;
  std::uint64_t in_flight_bytes_ = 0;  // the whole write: in_flight_ and its shared pieces
  std::vector<std::string_view> write_buffers_;
  bool writing_ = false;
  std::uint64_t queued_total_ = 0;   // bytes ever moved from pending_ into a write
  std::uint64_t written_total_ = 0;  // bytes ever written
  // (end offset in the stream of all bytes, tag), consumed from tags_head_. A vector, not a
  // deque: an idle connection should not pay for a deque's up-front block.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> tags_;
  std::size_t tags_head_ = 0;

  // Small, for buffers_small(): what a ping or a short message needs.
  static constexpr std::size_t keep_bytes = 4096, keep_entries = 16;
};

}  // namespace rws
