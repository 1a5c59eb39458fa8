#pragma once
// The bytes of one read, shared by every plain-TCP connection of an io thread (an Asio service of
// its io_context). Such a connection waits for readability and then reads into this buffer
// without blocking; the frame parser keeps whatever an unfinished frame needs, so nothing points
// into the buffer once the read is handled, and an idle connection holds no read buffer of its
// own (5,000 idle sockets: ~5 MiB less). Allocated with the first read.
//
// The messages parsed from a read are collected here too (every connection's, TLS included):
// a read of 256 KiB of small frames is thousands of them, and vectors of its own kept that
// capacity for the rest of a connection's life (~400 KB per socket that once took a burst).
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "protocol/frame_codec.hpp"

namespace rws {

class read_scratch : public boost::asio::execution_context::service {
 public:
  using key_type = read_scratch;
  static inline boost::asio::execution_context::id id;
  // One read takes at most this much: a busy connection reads in large chunks, few syscalls.
  static constexpr std::size_t size = 256 * 1024;

  explicit read_scratch(boost::asio::io_context& io) : boost::asio::execution_context::service(io) {}
  static read_scratch& of(boost::asio::io_context& io) { return boost::asio::use_service<read_scratch>(io); }

  // The io thread only; valid until the next call from another read.
  char* data() {
    if (!bytes_) bytes_ = std::make_unique_for_overwrite<char[]>(size);
    return bytes_.get();
  }
  // Everything parsed from one read, and of that the data messages handed to the session. The
  // io thread only; a read clears them before parsing and after its report (handling a read never
  // starts another).
  std::vector<inbound_event>& parsed() { return parsed_; }
  std::vector<inbound_event>& ready() { return ready_; }
  // A new parser for a read of a connection that holds none (its last read ended between
  // frames). The io thread only; valid until the next call.
  frame_parser& fresh_parser(std::uint64_t max_message_size, bool compression) {
    parser_.emplace(max_message_size);
    parser_->allow_compression(compression);
    return *parser_;
  }

 private:
  void shutdown() override {}

  std::unique_ptr<char[]> bytes_;
  std::vector<inbound_event> parsed_;
  std::vector<inbound_event> ready_;
  std::optional<frame_parser> parser_;
};

}  // namespace rws
