#include "protocol/frame_codec.hpp"

#include <algorithm>
#include <cstring>

#include "common/buffer_recycler.hpp"

namespace rws {
namespace {

constexpr unsigned char fin_bit = 0x80;
constexpr unsigned char rsv1_bit = 0x40;
constexpr unsigned char rsv23_bits = 0x30;
constexpr unsigned char opcode_bits = 0x0f;
constexpr unsigned char mask_bit = 0x80;
constexpr unsigned char length_bits = 0x7f;
constexpr std::size_t max_control_payload = 125;

// First reservation for a message that does not arrive in one read. Capped so that a bare header
// declaring a large (but allowed) frame cannot make us allocate the declared size up front;
// later growth is geometric, bounded by what the frame declares.
constexpr std::uint64_t initial_reserve = 64 * 1024;

bool is_control(opcode op) { return (static_cast<unsigned>(op) & 0x8) != 0; }

bool is_known_opcode(unsigned op) { return op <= 2 || (op >= 8 && op <= 10); }

// Header length of an unmasked server frame, known from its second byte.
std::size_t header_size(unsigned char b1) {
  const unsigned len7 = b1 & length_bits;
  return len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
}

// XOR with the 4-byte key repeated. Eight bytes per step through a 64-bit word (memcpy keeps it
// free of alignment and aliasing UB and compiles to plain loads/stores, usually vectorised); the
// key pattern repeats every 4 bytes, so an 8-byte word always starts at key phase 0 and the tail
// needs only `i & 3`, never a modulo per byte.
void mask_in_place(char* p, std::size_t n, const unsigned char key[4]) {
  const unsigned char key8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t mask;
  std::memcpy(&mask, key8, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    word ^= mask;
    std::memcpy(p + i, &word, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

void key_bytes(std::uint32_t mask_key, unsigned char key[4]) {
  key[0] = static_cast<unsigned char>(mask_key >> 24);
  key[1] = static_cast<unsigned char>(mask_key >> 16);
  key[2] = static_cast<unsigned char>(mask_key >> 8);
  key[3] = static_cast<unsigned char>(mask_key);
}

}  // namespace

std::size_t client_frame_size(std::size_t payload_size) {
  const std::size_t ext = payload_size < 126 ? 0 : payload_size <= 0xffff ? 2 : 8;
  return 2 + ext + 4 + payload_size;
}

void encode_client_header(std::string& out, opcode op, std::size_t size, std::uint32_t mask_key, bool rsv1) {
  unsigned char header[14];
  std::size_t h = 0;
  header[h++] = static_cast<unsigned char>(fin_bit | (rsv1 ? rsv1_bit : 0) | static_cast<unsigned char>(op));
  if (size < 126) {
    header[h++] = static_cast<unsigned char>(mask_bit | size);
  } else if (size <= 0xffff) {
    header[h++] = mask_bit | 126;
    header[h++] = static_cast<unsigned char>(size >> 8);
    header[h++] = static_cast<unsigned char>(size);
  } else {
    header[h++] = mask_bit | 127;
    const auto len = static_cast<std::uint64_t>(size);
    for (int shift = 56; shift >= 0; shift -= 8) header[h++] = static_cast<unsigned char>(len >> shift);
  }
  key_bytes(mask_key, header + h);
  h += 4;
  out.append(reinterpret_cast<const char*>(header), h);
}

void encode_client_frame(std::string& out, opcode op, const char* data, std::size_t size,
                         std::uint32_t mask_key, bool rsv1) {
  // One reservation per call at most, and geometric: a write batch built from thousands of small
  // frames reallocates O(log n) times, not once per frame.
  const std::size_t needed = out.size() + client_frame_size(size);
  if (out.capacity() < needed) out.reserve(std::max(needed, out.capacity() * 2));
  encode_client_header(out, op, size, mask_key, rsv1);
  if (size == 0) return;
  const std::size_t start = out.size();
  out.append(data, size);
  unsigned char key[4];
  key_bytes(mask_key, key);
  mask_in_place(out.data() + start, size, key);
}

void remask_in_place(char* data, std::size_t size, std::uint32_t from_key, std::uint32_t to_key) {
  unsigned char key[4];
  key_bytes(from_key ^ to_key, key);
  mask_in_place(data, size, key);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  constexpr std::size_t max_reason = max_control_payload - 2;
  std::size_t cut = reason.size();
  if (cut > max_reason) {
    // Back up to the start of the code point that straddles the limit, so the peer's UTF-8 check
    // of the reason does not fail on our own truncation.
    cut = max_reason;
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80) --cut;
  }
  std::string payload;
  payload.reserve(2 + cut);
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason.data(), cut);
  return payload;
}

bool is_valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

frame_parser::frame_parser(std::uint64_t max_message_size) : max_message_size_(max_message_size) {}

parse_error frame_parser::fail(parse_error e, const char* detail) {
  error_ = e;
  detail_ = detail;
  // A dead parser is never fed again: give back the message buffer now instead of holding up to
  // max_message_size until the attempt object goes away.
  std::string().swap(message_);
  std::string().swap(control_);
  header_len_ = 0;
  return e;
}

parse_error frame_parser::check_start(const unsigned char* h) {
  const unsigned char b0 = h[0];
  const unsigned char b1 = h[1];
  if (b0 & rsv23_bits) return fail(parse_error::protocol, "RSV2/RSV3 bit set (no extension negotiated them)");
  const unsigned op = b0 & opcode_bits;
  if (!is_known_opcode(op)) return fail(parse_error::protocol, "reserved opcode");
  if (b1 & mask_bit) return fail(parse_error::protocol, "server frame was masked");
  const bool fin = (b0 & fin_bit) != 0;
  const bool rsv1 = (b0 & rsv1_bit) != 0;
  const unsigned len7 = b1 & length_bits;
  if (is_control(static_cast<opcode>(op))) {
    if (!fin) return fail(parse_error::protocol, "fragmented control frame");
    if (len7 > max_control_payload) return fail(parse_error::protocol, "control frame payload over 125 bytes");
    if (rsv1) return fail(parse_error::protocol, "RSV1 bit set on a control frame");
    if (static_cast<opcode>(op) == opcode::close && len7 == 1)
      return fail(parse_error::protocol, "close frame with a 1-byte payload");
    return parse_error::none;
  }
  if (rsv1 && !compression_) return fail(parse_error::protocol, "RSV1 bit set without permessage-deflate");
  if (static_cast<opcode>(op) == opcode::continuation) {
    if (!message_open_) return fail(parse_error::protocol, "continuation frame without a message in progress");
    // RFC 7692 §6.1: only the first frame of a message carries the compression bit.
    if (rsv1) return fail(parse_error::protocol, "RSV1 bit set on a continuation frame");
  } else if (message_open_) {
    return fail(parse_error::protocol, "new data frame while a fragmented message is in progress");
  }
  return parse_error::none;
}

parse_error frame_parser::begin_frame(const unsigned char* h) {
  if (auto e = check_start(h); e != parse_error::none) return e;
  const auto op = static_cast<opcode>(h[0] & opcode_bits);
  std::uint64_t length = h[1] & length_bits;
  if (length == 126) {
    length = (std::uint64_t{h[2]} << 8) | h[3];
  } else if (length == 127) {
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
    if (length >> 63) return fail(parse_error::protocol, "64-bit payload length has the most significant bit set");
  }
  // Lengths are not required to use the shortest encoding here: RFC 6455 asks senders for it, but
  // a longer encoding is unambiguous and rejecting it would only break lenient servers.

  if (!is_control(op)) {
    const std::uint64_t before = op == opcode::continuation ? message_size_ : 0;
    // Decided from the header alone, before any payload is stored: a frame declaring a terabyte
    // fails here with nothing allocated.
    if (before > max_message_size_ || length > max_message_size_ - before)
      return fail(parse_error::too_big, "message exceeds maxMessageSize");
    if (op != opcode::continuation) {
      message_open_ = true;
      message_kind_ = op == opcode::text ? inbound_event::kind::text : inbound_event::kind::binary;
      message_compressed_ = (h[0] & rsv1_bit) != 0;
      utf8_.reset();
    }
    message_size_ = before + length;
  }
  in_frame_ = true;
  frame_op_ = op;
  frame_fin_ = (h[0] & fin_bit) != 0;
  frame_remaining_ = length;
  return parse_error::none;
}

parse_error frame_parser::finish_control(const char* p, std::size_t n, std::vector<inbound_event>& out) {
  if (frame_op_ != opcode::close) {
    inbound_event& ev = out.emplace_back();
    ev.type = frame_op_ == opcode::ping ? inbound_event::kind::ping : inbound_event::kind::pong;
    ev.payload.assign(p, n);
    return parse_error::none;
  }
  std::uint16_t code = 1005;
  std::string_view reason;
  if (n >= 2) {  // n == 1 was rejected from the header
    code = static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1]));
    if (!is_valid_close_code(code)) return fail(parse_error::protocol, "invalid close code");
    reason = std::string_view(p + 2, n - 2);
    if (!is_valid_utf8(reason)) return fail(parse_error::invalid_utf8, "close reason is not valid UTF-8");
  }
  inbound_event& ev = out.emplace_back();
  ev.type = inbound_event::kind::close;
  ev.payload.assign(reason.data(), reason.size());
  ev.close_code = code;
  closed_ = true;
  std::string().swap(message_);
  return parse_error::none;
}

parse_error frame_parser::finish_message(std::vector<inbound_event>& out) {
  if (message_kind_ == inbound_event::kind::text && !message_compressed_ && !utf8_.complete())
    return fail(parse_error::invalid_utf8, "text message ends inside a UTF-8 sequence");
  inbound_event& ev = out.emplace_back();
  ev.type = message_kind_;
  ev.compressed = message_compressed_;
  ev.payload = std::move(message_);
  message_.clear();  // moved-from: make the state explicit
  message_open_ = false;
  message_size_ = 0;
  return parse_error::none;
}

parse_error frame_parser::consume_payload(const char* p, std::size_t n, std::size_t& used,
                                          std::vector<inbound_event>& out) {
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(frame_remaining_, n));
  used = take;

  if (is_control(frame_op_)) {
    if (control_.empty() && take == frame_remaining_) {  // whole payload in this read: no staging copy
      in_frame_ = false;
      frame_remaining_ = 0;
      return finish_control(p, take, out);
    }
    control_.append(p, take);
    frame_remaining_ -= take;
    if (frame_remaining_ != 0) return parse_error::none;
    in_frame_ = false;
    const parse_error e = finish_control(control_.data(), control_.size(), out);
    control_.clear();
    return e;
  }

  const bool check_utf8 = message_kind_ == inbound_event::kind::text && !message_compressed_;

  // Common case: a whole single-frame message inside this read. Validate in place and copy the
  // payload once, straight into the event.
  if (frame_fin_ && frame_op_ != opcode::continuation && message_.empty() && take == frame_remaining_) {
    if (check_utf8 && !is_valid_utf8(std::string_view(p, take)))
      return fail(parse_error::invalid_utf8, "text message is not valid UTF-8");
    inbound_event& ev = out.emplace_back();
    ev.type = message_kind_;
    ev.compressed = message_compressed_;
    // A large payload goes into recycled memory (common/buffer_recycler.hpp): JavaScript gets a
    // copy, and this memory comes back for the next one.
    ev.payload = buffer_recycler::instance().copy(p, take);
    in_frame_ = false;
    frame_remaining_ = 0;
    message_open_ = false;
    message_size_ = 0;
    return parse_error::none;
  }

  // Fragmented, or split across reads: validate as the bytes arrive (so a bad byte fails now, not
  // after the rest of a large message) and gather them in message_.
  if (check_utf8 && !utf8_.feed(p, take)) return fail(parse_error::invalid_utf8, "text message is not valid UTF-8");
  if (take != 0) {
    if (message_.capacity() - message_.size() < take) {
      const std::uint64_t frame_end = message_.size() + frame_remaining_;
      const std::uint64_t grown = std::max<std::uint64_t>(std::uint64_t{message_.capacity()} * 2, initial_reserve);
      const auto want = static_cast<std::size_t>(std::max<std::uint64_t>(message_.size() + take, std::min(frame_end, grown)));
      if (message_.empty() && want >= buffer_recycler::min_size) {
        message_ = buffer_recycler::instance().take(want);  // memory whose pages are mapped already
      } else {
        message_.reserve(want);
      }
    }
    message_.append(p, take);
  }
  frame_remaining_ -= take;
  if (frame_remaining_ != 0) return parse_error::none;
  in_frame_ = false;
  return frame_fin_ ? finish_message(out) : parse_error::none;
}

parse_error frame_parser::feed(const char* data, std::size_t n, std::vector<inbound_event>& out) {
  if (error_ != parse_error::none) return error_;
  if (closed_) return parse_error::none;
  const char* p = data;
  const char* const end = data + n;
  for (;;) {
    if (!in_frame_) {
      if (p == end) break;
      const auto* u = reinterpret_cast<const unsigned char*>(p);
      const auto avail = static_cast<std::size_t>(end - p);
      if (header_len_ == 0 && avail >= 2 && avail >= header_size(u[1])) {
        // Fast path: the whole header is in this read; decode it where it lies.
        if (auto e = begin_frame(u); e != parse_error::none) return e;
        p += header_size(u[1]);
      } else {
        // Slow path: the header is split across reads; stage it.
        while (header_len_ < 2 && p < end) header_[header_len_++] = static_cast<unsigned char>(*p++);
        if (header_len_ < 2) break;
        if (auto e = check_start(header_); e != parse_error::none) return e;
        const std::size_t need = header_size(header_[1]);
        const std::size_t take = std::min(need - header_len_, static_cast<std::size_t>(end - p));
        std::memcpy(header_ + header_len_, p, take);
        header_len_ += take;
        p += take;
        if (header_len_ < need) break;
        header_len_ = 0;
        if (auto e = begin_frame(header_); e != parse_error::none) return e;
      }
    }
    // Runs even with no bytes left, so zero-length frames complete right after their header.
    std::size_t used = 0;
    if (auto e = consume_payload(p, static_cast<std::size_t>(end - p), used, out); e != parse_error::none) return e;
    p += used;
    if (closed_) break;  // ignore whatever follows a close frame
    if (in_frame_) break;  // the frame needs more bytes than this read had
  }
  return parse_error::none;
}

}  // namespace rws
