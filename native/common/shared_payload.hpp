#pragma once
// The bytes of one outgoing message, as the outbox keeps them until the message is delivered.
//
// A large payload lives in a block shared with the write that sends it: the connection masks
// the block in place for the wire (RFC 6455 §5.3) and hands the socket the outbox's own bytes,
// so a binary message is copied once on its way to the kernel (out of the JavaScript Buffer),
// not a second time into the frame. The block remembers the key it carries: a resend on a later
// connection re-masks it with a fresh key (one XOR pass), and a write in flight keeps the block
// alive even if the outbox lets go of the message meanwhile.
//
// Small payloads are copied into the frame buffer instead: many small frames then leave in one
// contiguous write, where an iovec per message would cost more than the copy saves.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/buffer_recycler.hpp"

namespace rws {

class shared_payload {
 public:
  // Payloads at least this large are shared with the write instead of copied into the frame.
  static constexpr std::size_t share_min = buffer_recycler::min_size;

  struct block {
    block() = default;
    block(const block&) = delete;
    block& operator=(const block&) = delete;
    // The memory goes to the next large message (common/buffer_recycler.hpp).
    ~block() { buffer_recycler::instance().give(std::move(bytes)); }

    std::string bytes;
    bool masked = false;        // `bytes` are XORed with `mask`
    std::uint32_t mask = 0;     // as the frame header carries it, most significant byte first
    bool key_on_wire = false;   // a frame with `mask` was written: a resend needs a fresh key
  };

  shared_payload() = default;
  // Implicit: a message's bytes become its payload.
  shared_payload(std::string bytes) {  // NOLINT(google-explicit-constructor)
    if (bytes.size() >= share_min) {
      shared_ = std::make_shared<block>();
      shared_->bytes = std::move(bytes);
    } else {
      small_ = std::move(bytes);
    }
  }
  // Bytes already masked with a fresh key (the binding masks large binaries as it copies them
  // out of JavaScript, on a thread that waits for the io thread anyway): always a block, so the
  // first write sends them as they are.
  shared_payload(std::string masked_bytes, std::uint32_t mask) : shared_(std::make_shared<block>()) {
    shared_->bytes = std::move(masked_bytes);
    shared_->masked = true;
    shared_->mask = mask;
  }

  std::size_t size() const { return shared_ ? shared_->bytes.size() : small_.size(); }

  // The plain bytes, for the file outbox's log: it stores every message before the connection
  // masks it, and the binding hands it no masked bytes (see outgoing_message::masked_with).
  std::string_view plain() const { return shared_ ? std::string_view(shared_->bytes) : std::string_view(small_); }

  // The block of a large payload, for the connection to mask and keep alive; null when small.
  const std::shared_ptr<block>& shared() const { return shared_; }

 private:
  std::string small_;
  std::shared_ptr<block> shared_;
};

}  // namespace rws
