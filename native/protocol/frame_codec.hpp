#pragma once
// WebSocket framing (RFC 6455 §5), client side, without Asio or Node: the connection owns the
// socket and hands bytes in and out. We frame ourselves (instead of letting Beast do it) so that
// many outgoing frames can be coalesced into one socket write (encode_client_frame appends to a
// shared buffer) and many inbound frames are parsed from one read with one copy per payload.
//
// Nothing here throws on bad input: a hostile server gets a parse_error, the connection sends the
// matching close code and reconnects.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/utf8.hpp"

namespace rws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Appends one complete (FIN=1) client frame to `out`: header with the shortest length encoding,
// the mask key, and the payload masked with it. mask_key's bytes go on the wire most significant
// first (0x37fa213d -> 37 fa 21 3d). It must come from a strong random source (RFC 6455 §10.3);
// that is the caller's job so this unit stays deterministic. rsv1 marks a permessage-deflate
// message; never set it on control frames. `out` grows geometrically, so appending thousands of
// frames to one buffer costs amortised O(total bytes). `data` must not point into `out` (it may
// be reallocated before the payload is copied).
void encode_client_frame(std::string& out, opcode op, const char* data, std::size_t size,
                         std::uint32_t mask_key, bool rsv1 = false);

// The header of such a frame alone (up to 14 bytes), for a payload that goes out as a buffer of
// its own: the caller masks it in place with the same key (remask_in_place from key 0).
void encode_client_header(std::string& out, opcode op, std::size_t size, std::uint32_t mask_key, bool rsv1 = false);

// Changes the mask `data` carries from `from_key` to `to_key` in one XOR pass (0 = plain). XOR
// keys compose, so unmasking and masking again with a fresh key is one pass, not two.
void remask_in_place(char* data, std::size_t size, std::uint32_t from_key, std::uint32_t to_key);

// Size of the frame encode_client_frame would append (header + mask + payload).
std::size_t client_frame_size(std::size_t payload_size);

// Close frame payload: 2-byte big-endian code followed by the reason, truncated so the payload
// fits a control frame (<= 125 bytes) without cutting a UTF-8 sequence in half. The reason is
// expected to be valid UTF-8 already (lib/ validates it); an invalid one is copied as is.
std::string close_payload(std::uint16_t code, std::string_view reason);

// Close codes an endpoint may put on the wire (RFC 6455 §7.4 and the IANA registry):
// 1000-1003, 1007-1014, 3000-4999. 1004, 1005, 1006 and 1015 are reserved or local-only.
bool is_valid_close_code(std::uint16_t code);

struct inbound_event {
  enum class kind : std::uint8_t { text, binary, ping, pong, close };
  kind type = kind::binary;
  std::string payload;              // message data (reassembled), ping/pong payload, or close reason
  std::uint16_t close_code = 1005;  // for close: 1005 when the frame had no code
  bool compressed = false;          // RSV1 was set on the first frame (permessage-deflate):
                                    // payload still deflated, text not yet UTF-8-checked
};

enum class parse_error : std::uint8_t {
  none,
  protocol,      // close with 1002
  invalid_utf8,  // close with 1007
  too_big,       // close with 1009
};

// Incremental parser of server-to-client frames with message reassembly and validation.
// One per connection attempt; io thread only.
//
// Memory: it holds at most one unfinished header (<= 10 bytes), one unfinished control payload
// (<= 125 bytes) and the unfinished data message, which can never exceed max_message_size
// because sizes are checked from each frame header before any of its payload is stored.
//
// After a close frame the server may send nothing more (RFC 6455 §5.5.1); anything after it is
// discarded, so the caller never sees an event after `close`.
class frame_parser {
 public:
  explicit frame_parser(std::uint64_t max_message_size);

  // RSV1 is legal (on the first frame of a data message) only when permessage-deflate was
  // negotiated for this connection.
  void allow_compression(bool on) { compression_ = on; }

  // Consumes all of [data, data+n) (bytes of partial frames are kept internally), appending
  // complete events to out. Stops at the first violation and returns it; the parser is then dead
  // (every later feed returns the same error and adds nothing). Events appended before the
  // violation are valid and may be delivered.
  parse_error feed(const char* data, std::size_t n, std::vector<inbound_event>& out);

  std::uint64_t max_message_size() const { return max_message_size_; }

  // Short human text for the last error, e.g. "server frame was masked"; empty when none.
  std::string_view error_detail() const { return detail_; }

  // Bytes of the unfinished message/frame held (partial header, control payload, message data).
  std::uint64_t bytes_buffered() const { return header_len_ + control_.size() + message_.size(); }

  // Between frames, with nothing unfinished and nothing ended: a parser made now with the same
  // settings would go on exactly like this one (a connection keeps none while it is at rest).
  bool at_rest() const {
    return error_ == parse_error::none && !closed_ && header_len_ == 0 && !in_frame_ && !message_open_;
  }

 private:
  parse_error fail(parse_error e, const char* detail);
  // Checks of the first two header bytes, so a trickled bad frame fails at its second byte.
  parse_error check_start(const unsigned char* h);
  // Validates a complete header (h has header_size(h[1]) bytes) and makes it the current frame.
  parse_error begin_frame(const unsigned char* h);
  // Takes up to `n` payload bytes of the current frame; returns the bytes used.
  parse_error consume_payload(const char* p, std::size_t n, std::size_t& used, std::vector<inbound_event>& out);
  parse_error finish_control(const char* p, std::size_t n, std::vector<inbound_event>& out);
  parse_error finish_message(std::vector<inbound_event>& out);

  std::uint64_t max_message_size_;
  bool compression_ = false;

  parse_error error_ = parse_error::none;
  const char* detail_ = "";
  bool closed_ = false;  // a close frame was delivered: ignore the rest of the stream

  // Partial header. 10 bytes suffice: server frames are unmasked (a masked one fails at byte 2).
  unsigned char header_[10] = {};
  std::size_t header_len_ = 0;

  // Current frame; in_frame_ is false between frames (waiting for a header).
  bool in_frame_ = false;
  opcode frame_op_ = opcode::continuation;
  bool frame_fin_ = false;
  std::uint64_t frame_remaining_ = 0;

  // Data message in progress: from the header of its first frame to the end of its FIN frame.
  // Control frames can arrive in between, so they use their own buffer.
  bool message_open_ = false;
  inbound_event::kind message_kind_ = inbound_event::kind::binary;
  bool message_compressed_ = false;
  std::uint64_t message_size_ = 0;  // sum of declared frame lengths so far (<= max_message_size_)
  std::string message_;             // payload received so far, when it spans frames or reads
  utf8_validator utf8_;             // over message_ for uncompressed text

  std::string control_;  // payload of a control frame split across reads
};

}  // namespace rws
