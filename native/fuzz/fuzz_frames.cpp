// Fuzzes rws::frame_parser::feed (protocol/frame_codec.hpp): server-to-client frames from the
// network. Input layout:
//   byte 0      bit 0: allow_compression
//   bytes 1-2   max_message_size (u16 LE; 0xFFFF means 2^64-1: effectively no limit)
//   byte 3      number of split points k (0..15)
//   k bytes     split points, each taken modulo (stream size + 1)
//   rest        the byte stream from the server
// Invariants: feeding the stream whole or split at the chosen points yields the same events and
// the same final error; no data payload exceeds the limit; control payloads are <= 125 bytes;
// nothing follows a close event; after an error, a further feed adds nothing.
#include <algorithm>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "protocol/frame_codec.hpp"

namespace {

bool same_events(const std::vector<rws::inbound_event>& a, const std::vector<rws::inbound_event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].payload != b[i].payload || a[i].close_code != b[i].close_code ||
        a[i].compressed != b[i].compressed) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  const bool compression = (in.u8() & 1) != 0;
  const std::uint16_t raw_limit = in.u16();
  const std::uint64_t limit = raw_limit == 0xFFFF ? UINT64_MAX : raw_limit;
  const std::size_t split_count = in.u8() % 16;
  std::vector<std::uint8_t> split_bytes;
  for (std::size_t i = 0; i < split_count; ++i) split_bytes.push_back(in.u8());
  const std::string_view stream = in.rest();

  std::vector<std::size_t> splits;
  for (const std::uint8_t b : split_bytes) splits.push_back(b % (stream.size() + 1));
  splits.push_back(stream.size());
  std::sort(splits.begin(), splits.end());

  rws::frame_parser whole(limit);
  whole.allow_compression(compression);
  std::vector<rws::inbound_event> whole_events;
  const rws::parse_error whole_error = whole.feed(stream.data(), stream.size(), whole_events);

  rws::frame_parser split(limit);
  split.allow_compression(compression);
  std::vector<rws::inbound_event> split_events;
  rws::parse_error split_error = rws::parse_error::none;
  std::size_t at = 0;
  for (const std::size_t next : splits) {
    const std::size_t before = split_events.size();
    const rws::parse_error e = split.feed(stream.data() + at, next - at, split_events);
    if (split_error != rws::parse_error::none) {
      FUZZ_CHECK(e == split_error, "a dead parser changed its error");
      FUZZ_CHECK(split_events.size() == before, "a dead parser produced events");
    }
    split_error = e;
    at = next;
  }

  FUZZ_CHECK(whole_error == split_error, "split feeding changed the error");
  FUZZ_CHECK(same_events(whole_events, split_events), "split feeding changed the events");

  for (std::size_t i = 0; i < whole_events.size(); ++i) {
    const rws::inbound_event& e = whole_events[i];
    switch (e.type) {
      case rws::inbound_event::kind::text:
      case rws::inbound_event::kind::binary:
        FUZZ_CHECK(e.payload.size() <= limit, "a message payload exceeds max_message_size");
        FUZZ_CHECK(compression || !e.compressed, "a compressed message without compression");
        FUZZ_CHECK(e.type != rws::inbound_event::kind::text || e.compressed || rws::is_valid_utf8(e.payload),
                   "an uncompressed text message is not valid UTF-8");
        break;
      case rws::inbound_event::kind::close:
        FUZZ_CHECK(i + 1 == whole_events.size(), "an event after close");
        FUZZ_CHECK(e.payload.size() <= 123, "a close reason longer than a control frame allows");
        FUZZ_CHECK(rws::is_valid_utf8(e.payload), "a close reason is not valid UTF-8");
        FUZZ_CHECK(e.close_code == 1005 || rws::is_valid_close_code(e.close_code), "an invalid close code delivered");
        break;
      case rws::inbound_event::kind::ping:
      case rws::inbound_event::kind::pong:
        FUZZ_CHECK(e.payload.size() <= 125, "a control payload over 125 bytes");
        break;
    }
  }
  // After an error the parser is dead: one more feed returns the same error and adds nothing.
  if (whole_error != rws::parse_error::none) {
    const std::size_t before = whole_events.size();
    FUZZ_CHECK(whole.feed(stream.data(), stream.size(), whole_events) == whole_error, "a dead parser recovered");
    FUZZ_CHECK(whole_events.size() == before, "a dead parser produced events");
  }
  return 0;
}
