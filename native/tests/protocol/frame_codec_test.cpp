#include "protocol/frame_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#include <malloc.h>
#define RWS_CAN_MEASURE_HEAP 1
#endif

namespace rws {
namespace {

using kind = inbound_event::kind;

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// An unmasked server frame with the given first byte (FIN/RSV/opcode) and the shortest length.
std::string server_frame(int b0, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(b0));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    f.push_back(126);
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>(static_cast<std::uint64_t>(n) >> shift));
  }
  f.append(payload);
  return f;
}

constexpr int fin = 0x80;
constexpr int rsv1 = 0x40;
constexpr int rsv2 = 0x20;
constexpr int rsv3 = 0x10;

std::string text_frame(std::string_view p, bool is_fin = true) { return server_frame((is_fin ? fin : 0) | 1, p); }
std::string binary_frame(std::string_view p, bool is_fin = true) { return server_frame((is_fin ? fin : 0) | 2, p); }
std::string cont_frame(std::string_view p, bool is_fin) { return server_frame((is_fin ? fin : 0) | 0, p); }
std::string ping_frame(std::string_view p) { return server_frame(fin | 9, p); }
std::string pong_frame(std::string_view p) { return server_frame(fin | 10, p); }
std::string close_frame(std::string_view p) { return server_frame(fin | 8, p); }

// Decodes one client frame at `pos` (advancing it), checks the mask bit and returns the same frame
// as a server would send it: unmasked, mask bit clear, identical otherwise.
struct client_frame {
  unsigned char b0 = 0;
  std::string payload;
  std::string as_server_frame;
};

client_frame decode_client_frame(std::string_view wire, std::size_t& pos) {
  client_frame f;
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(wire.at(pos + i)); };
  f.b0 = at(0);
  EXPECT_TRUE(at(1) & 0x80) << "client frame must be masked";
  std::uint64_t len = at(1) & 0x7f;
  std::size_t h = 2;
  if (len == 126) {
    len = (std::uint64_t{at(2)} << 8) | at(3);
    h = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 2; i < 10; ++i) len = (len << 8) | at(static_cast<std::size_t>(i));
    h = 10;
  }
  const unsigned char key[4] = {at(h), at(h + 1), at(h + 2), at(h + 3)};
  f.payload.assign(wire.substr(pos + h + 4, len));
  for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ key[i % 4]);
  f.as_server_frame.assign(wire.substr(pos, h));
  f.as_server_frame[1] = static_cast<char>(f.as_server_frame[1] & 0x7f);
  f.as_server_frame += f.payload;
  pos += h + 4 + len;
  return f;
}

// FNV-1a, so large payloads can be compared through a short printable dump.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string dump(const std::vector<inbound_event>& events) {
  static const char* names[] = {"text", "binary", "ping", "pong", "close"};
  std::string out;
  for (const auto& ev : events) {
    out += names[static_cast<int>(ev.type)];
    if (ev.type == kind::close) out += "(" + std::to_string(ev.close_code) + ")";
    if (ev.compressed) out += "[z]";
    out += ":";
    if (ev.payload.size() <= 64) {
      for (unsigned char c : ev.payload) {
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        }
      }
    } else {
      out += "<" + std::to_string(ev.payload.size()) + " bytes #" + std::to_string(fnv1a(ev.payload)) + ">";
    }
    out += "\n";
  }
  return out;
}

struct parsed {
  parse_error error;
  std::vector<inbound_event> events;
  std::string dump;
};

parsed parse(std::string_view wire, std::uint64_t max = 16 << 20, bool compression = false) {
  frame_parser p(max);
  p.allow_compression(compression);
  parsed r;
  r.error = p.feed(wire.data(), wire.size(), r.events);
  r.dump = dump(r.events);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Encoding

TEST(EncodeClientFrame, MatchesRfc6455Example) {
  // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
  std::string out;
  encode_client_frame(out, opcode::text, "Hello", 5, 0x37fa213d);
  EXPECT_EQ(out, bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(EncodeClientFrame, UsesShortestLengthEncoding) {
  struct expectation {
    std::size_t size;
    std::string length_bytes;  // second byte onward, up to the mask key
  };
  const std::vector<expectation> cases = {
      {0, bytes({0x80})},
      {1, bytes({0x81})},
      {125, bytes({0xfd})},
      {126, bytes({0xfe, 0x00, 0x7e})},
      {65535, bytes({0xfe, 0xff, 0xff})},
      {65536, bytes({0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
      {1 << 20, bytes({0xff, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00})},
  };
  for (const auto& c : cases) {
    std::string out;
    const std::string payload(c.size, 'x');
    encode_client_frame(out, opcode::binary, payload.data(), payload.size(), 0x01020304);
    const std::size_t header = 1 + c.length_bytes.size() + 4;
    ASSERT_EQ(out.size(), header + c.size) << c.size;
    EXPECT_EQ(out.size(), client_frame_size(c.size));
    EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x82);
    EXPECT_EQ(out.substr(1, c.length_bytes.size()), c.length_bytes) << c.size;
    EXPECT_EQ(out.substr(1 + c.length_bytes.size(), 4), bytes({1, 2, 3, 4}));
  }
}

TEST(EncodeClientFrame, MaskingMatchesNaiveXorAtEverySizeAndAlignment) {
  std::mt19937 rng(7);
  for (std::uint32_t key : {0x00000000u, 0xffffffffu, 0x37fa213du, 0x80000001u}) {
    for (std::size_t prefix : {0u, 1u, 3u}) {  // misalign the payload inside the output buffer
      for (std::size_t n = 0; n <= 70; ++n) {
        std::string payload(n, '\0');
        for (auto& c : payload) c = static_cast<char>(rng());
        std::string out(prefix, 'P');
        encode_client_frame(out, opcode::binary, payload.data(), payload.size(), key);
        ASSERT_EQ(out.substr(0, prefix), std::string(prefix, 'P'));
        const std::size_t h = prefix + 2 + 4;
        ASSERT_EQ(out.size(), h + n);
        const unsigned char k[4] = {static_cast<unsigned char>(key >> 24), static_cast<unsigned char>(key >> 16),
                                    static_cast<unsigned char>(key >> 8), static_cast<unsigned char>(key)};
        for (std::size_t i = 0; i < n; ++i)
          ASSERT_EQ(static_cast<unsigned char>(out[h + i]), static_cast<unsigned char>(payload[i] ^ k[i % 4]))
              << "key " << key << " size " << n << " byte " << i;
      }
    }
  }
}

TEST(EncodeClientFrame, SetsOpcodeAndRsv1Bits) {
  std::string out;
  encode_client_frame(out, opcode::text, "a", 1, 0, true);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0xc1);
  out.clear();
  encode_client_frame(out, opcode::ping, nullptr, 0, 0);
  EXPECT_EQ(out, bytes({0x89, 0x80, 0, 0, 0, 0}));
  out.clear();
  const std::string cp = close_payload(1000, "");
  encode_client_frame(out, opcode::close, cp.data(), cp.size(), 0);
  EXPECT_EQ(out, bytes({0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}));
  out.clear();
  encode_client_frame(out, opcode::pong, "x", 1, 0);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x8a);
}

TEST(EncodeClientFrame, CoalescesManyFramesInOneBuffer) {
  std::string out;
  for (int i = 0; i < 2000; ++i) {
    const std::string payload = "message " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 300), '#');
    encode_client_frame(out, i % 2 ? opcode::binary : opcode::text, payload.data(), payload.size(),
                        static_cast<std::uint32_t>(i * 2654435761u));
  }
  std::size_t pos = 0;
  for (int i = 0; i < 2000; ++i) {
    const client_frame f = decode_client_frame(out, pos);
    ASSERT_EQ(f.b0, i % 2 ? 0x82 : 0x81);
    ASSERT_EQ(f.payload, "message " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 300), '#'));
  }
  EXPECT_EQ(pos, out.size());
}

TEST(EncodeClientFrame, RoundTripsThroughTheParserAtEveryLengthBoundary) {
  for (std::size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 1u << 20}) {
    for (opcode op : {opcode::text, opcode::binary}) {
      std::string payload(n, '\0');
      for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(op == opcode::text ? 'a' + i % 26 : i * 31 + 7);
      std::string wire;
      encode_client_frame(wire, op, payload.data(), payload.size(), 0xa1b2c3d4);
      std::size_t pos = 0;
      const client_frame f = decode_client_frame(wire, pos);
      ASSERT_EQ(f.payload, payload);

      // Whole, and in 1000-byte reads (the message then spans reads and is reassembled).
      for (std::size_t step : {f.as_server_frame.size(), std::size_t{1000}}) {
        frame_parser parser(16 << 20);
        std::vector<inbound_event> events;
        for (std::size_t at = 0; at < f.as_server_frame.size(); at += step) {
          const std::size_t len = std::min(step, f.as_server_frame.size() - at);
          ASSERT_EQ(parser.feed(f.as_server_frame.data() + at, len, events), parse_error::none);
        }
        if (f.as_server_frame.empty()) continue;
        ASSERT_EQ(events.size(), 1u) << n;
        EXPECT_EQ(events[0].type, op == opcode::text ? kind::text : kind::binary);
        EXPECT_FALSE(events[0].compressed);
        EXPECT_TRUE(events[0].payload == payload) << "size " << n << " step " << step;
        EXPECT_EQ(parser.bytes_buffered(), 0u);
      }
    }
  }
}

TEST(EncodeClientFrame, RoundTripsUtf8Text) {
  const std::string text = "Grüße, €, 𝄞 and plain ascii";
  std::string wire;
  encode_client_frame(wire, opcode::text, text.data(), text.size(), 0xdeadbeef);
  std::size_t pos = 0;
  const auto r = parse(decode_client_frame(wire, pos).as_server_frame);
  EXPECT_EQ(r.error, parse_error::none);
  EXPECT_EQ(r.dump, dump({inbound_event{kind::text, text, 1005, false}}));
}

// ---------------------------------------------------------------------------------------------
// Close payloads and codes

TEST(ClosePayload, CodeIsBigEndianFollowedByReason) {
  EXPECT_EQ(close_payload(1000, "bye"), bytes({0x03, 0xe8, 'b', 'y', 'e'}));
  EXPECT_EQ(close_payload(4000, ""), bytes({0x0f, 0xa0}));
}

TEST(ClosePayload, TruncatesTo125BytesWithoutCuttingACodePoint) {
  // 122 ASCII + "€" (3 bytes) would need 127 bytes: the euro sign must go as a whole.
  const std::string reason = std::string(122, 'a') + "\xe2\x82\xac";
  EXPECT_EQ(close_payload(1001, reason), bytes({0x03, 0xe9}) + std::string(122, 'a'));

  // Exactly 123 bytes of reason fit.
  const std::string exact = std::string(120, 'b') + "\xe2\x82\xac";
  EXPECT_EQ(close_payload(1001, exact), bytes({0x03, 0xe9}) + exact);

  const std::string long_ascii(300, 'c');
  EXPECT_EQ(close_payload(1000, long_ascii), bytes({0x03, 0xe8}) + std::string(123, 'c'));

  std::string clefs;
  for (int i = 0; i < 50; ++i) clefs += "\xf0\x9d\x84\x9e";  // 4-byte code points
  const std::string p = close_payload(1000, clefs);
  EXPECT_EQ(p.size(), 2u + 120u);  // 30 whole clefs; the 31st would end at byte 124
  EXPECT_TRUE(is_valid_utf8(std::string_view(p).substr(2)));
}

TEST(CloseCode, ValidityFollowsRfc6455Section7_4) {
  for (std::uint32_t c = 0; c <= 0xffff; ++c) {
    const bool expected = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    ASSERT_EQ(is_valid_close_code(static_cast<std::uint16_t>(c)), expected) << c;
  }
  EXPECT_FALSE(is_valid_close_code(999));
  EXPECT_TRUE(is_valid_close_code(1000));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_FALSE(is_valid_close_code(1005));
  EXPECT_FALSE(is_valid_close_code(1006));
  EXPECT_TRUE(is_valid_close_code(1007));
  EXPECT_TRUE(is_valid_close_code(1014));
  EXPECT_FALSE(is_valid_close_code(1015));
  EXPECT_FALSE(is_valid_close_code(1016));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_TRUE(is_valid_close_code(3000));
  EXPECT_TRUE(is_valid_close_code(4999));
  EXPECT_FALSE(is_valid_close_code(5000));
}

// ---------------------------------------------------------------------------------------------
// Parsing: valid traffic

TEST(FrameParser, ParsesRfc6455Examples) {
  EXPECT_EQ(parse(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})).dump, "text:Hello\n");
  EXPECT_EQ(parse(bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f})).dump, "text:Hello\n");
  EXPECT_EQ(parse(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})).dump, "ping:Hello\n");
  EXPECT_EQ(parse(bytes({0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})).dump, "pong:Hello\n");

  const std::string b256(256, '\x5a');
  auto r = parse(bytes({0x82, 0x7e, 0x01, 0x00}) + b256);
  ASSERT_EQ(r.error, parse_error::none);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, kind::binary);
  EXPECT_EQ(r.events[0].payload, b256);

  const std::string b64k(65536, '\x33');
  r = parse(bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + b64k);
  ASSERT_EQ(r.error, parse_error::none);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].payload, b64k);
}

TEST(FrameParser, AcceptsNonMinimalLengthEncoding) {
  // A 5-byte payload announced with a 16-bit length: unambiguous, so tolerated.
  EXPECT_EQ(parse(bytes({0x81, 0x7e, 0x00, 0x05}) + "Hello").dump, "text:Hello\n");
}

TEST(FrameParser, HandlesEmptyFrames) {
  const auto r = parse(text_frame("") + binary_frame("") + ping_frame("") + pong_frame("") + text_frame("", false) +
                       cont_frame("", false) + cont_frame("", true) + close_frame(""));
  EXPECT_EQ(r.error, parse_error::none);
  EXPECT_EQ(r.dump, "text:\nbinary:\nping:\npong:\ntext:\nclose(1005):\n");
}

TEST(FrameParser, CloseCarriesCodeAndReason) {
  EXPECT_EQ(parse(close_frame(close_payload(1000, "bye"))).dump, "close(1000):bye\n");
  EXPECT_EQ(parse(close_frame(close_payload(4999, ""))).dump, "close(4999):\n");
  EXPECT_EQ(parse(close_frame(close_payload(1001, "Grüße"))).dump, "close(1001):Gr\\xc3\\xbc\\xc3\\x9fe\n");
}

TEST(FrameParser, ControlFramesMayInterleaveFragments) {
  const std::string wire = text_frame("Hel", false) + ping_frame("p1") + pong_frame("p2") + cont_frame("lo", false) +
                           ping_frame("") + cont_frame(", world", true);
  const auto r = parse(wire);
  EXPECT_EQ(r.error, parse_error::none);
  EXPECT_EQ(r.dump, "ping:p1\npong:p2\nping:\ntext:Hello, world\n");
}

TEST(FrameParser, ReassemblesBinaryFragments) {
  const std::string a(1000, 'a'), b(70000, 'b'), c(5, 'c');
  const auto r = parse(binary_frame(a, false) + cont_frame(b, false) + cont_frame(c, true));
  ASSERT_EQ(r.error, parse_error::none);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, kind::binary);
  EXPECT_TRUE(r.events[0].payload == a + b + c);
}

TEST(FrameParser, AControlFrameOf125BytesIsFine) {
  const std::string p(125, 'p');
  EXPECT_EQ(parse(ping_frame(p)).events.at(0).payload, p);
}

TEST(FrameParser, IgnoresEverythingAfterAClose) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  const std::string wire = text_frame("a") + close_frame(close_payload(1000, "")) + text_frame("b") + bytes({0xff});
  EXPECT_EQ(p.feed(wire.data(), wire.size(), events), parse_error::none);
  EXPECT_EQ(dump(events), "text:a\nclose(1000):\n");
  const std::string more = text_frame("c");
  EXPECT_EQ(p.feed(more.data(), more.size(), events), parse_error::none);
  EXPECT_EQ(events.size(), 2u);
}

TEST(FrameParser, CompressedMessagesArePassedThroughUnchecked) {
  // RSV1 on the first frame only; payload stays deflated and is not UTF-8-checked (that happens
  // after inflation).
  const std::string deflated = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  auto r = parse(server_frame(fin | rsv1 | 1, deflated), 1024, true);
  EXPECT_EQ(r.error, parse_error::none);
  EXPECT_EQ(r.dump, "text[z]:\\xf2H\\xcd\\xc9\\xc9\\x07\\x00\n");

  r = parse(server_frame(rsv1 | 1, deflated.substr(0, 3)) + ping_frame("x") + cont_frame(deflated.substr(3), true),
            1024, true);
  EXPECT_EQ(r.error, parse_error::none);
  EXPECT_EQ(r.dump, "ping:x\ntext[z]:\\xf2H\\xcd\\xc9\\xc9\\x07\\x00\n");

  r = parse(server_frame(fin | rsv1 | 2, "zz") + text_frame("plain"), 1024, true);
  EXPECT_EQ(r.dump, "binary[z]:zz\ntext:plain\n");
}

// ---------------------------------------------------------------------------------------------
// Parsing: violations

struct violation {
  const char* name;
  std::string wire;
  parse_error expected;
  bool compression = false;
  std::string events_before = "";  // valid events that precede the violation in the same read
};

TEST(FrameParser, RejectsEveryProtocolViolation) {
  std::vector<violation> cases = {
      {"rsv1 without compression", server_frame(fin | rsv1 | 1, "x"), parse_error::protocol},
      {"rsv2", server_frame(fin | rsv2 | 1, "x"), parse_error::protocol},
      {"rsv3", server_frame(fin | rsv3 | 2, "x"), parse_error::protocol},
      {"rsv2 even with compression", server_frame(fin | rsv2 | 1, "x"), parse_error::protocol, true},
      {"rsv1 on a continuation", server_frame(1, "a") + server_frame(fin | rsv1 | 0, "b"), parse_error::protocol,
       true},
      {"rsv1 on a control frame", server_frame(fin | rsv1 | 9, ""), parse_error::protocol, true},
      {"masked server frame", bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}),
       parse_error::protocol},
      {"fragmented ping", server_frame(9, "x"), parse_error::protocol},
      {"fragmented close", server_frame(8, ""), parse_error::protocol},
      {"126-byte ping", bytes({0x89, 0x7e, 0x00, 0x7e}) + std::string(126, 'p'), parse_error::protocol},
      {"126-byte pong (7-bit form)", bytes({0x8a, 0x7e}), parse_error::protocol},
      {"close with 1-byte payload", close_frame("x"), parse_error::protocol},
      {"close code 999", close_frame(bytes({0x03, 0xe7})), parse_error::protocol},
      {"close code 1005 on the wire", close_frame(bytes({0x03, 0xed})), parse_error::protocol},
      {"close code 1006 on the wire", close_frame(bytes({0x03, 0xee})), parse_error::protocol},
      {"close code 5000", close_frame(bytes({0x13, 0x88})), parse_error::protocol},
      {"close reason not UTF-8", close_frame(bytes({0x03, 0xe8, 0xc0, 0x80})), parse_error::invalid_utf8},
      {"orphan continuation", cont_frame("x", true), parse_error::protocol},
      {"continuation after a finished message", text_frame("a") + cont_frame("b", true), parse_error::protocol, false,
       "text:a\n"},
      {"new text while fragmented", text_frame("a", false) + text_frame("b"), parse_error::protocol},
      {"new binary while fragmented", text_frame("a", false) + ping_frame("") + binary_frame("b"),
       parse_error::protocol, false, "ping:\n"},
      {"64-bit length with the top bit set", bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1}), parse_error::protocol},
      {"invalid UTF-8 text", text_frame(bytes({'a', 0xc0, 0x80})), parse_error::invalid_utf8},
      {"surrogate in text", text_frame(bytes({0xed, 0xa0, 0x80})), parse_error::invalid_utf8},
      {"above U+10FFFF", text_frame(bytes({0xf4, 0x90, 0x80, 0x80})), parse_error::invalid_utf8},
      {"text ends mid code point", text_frame(bytes({'a', 0xe2, 0x82})), parse_error::invalid_utf8},
      {"fragmented text ends mid code point", text_frame(bytes({0xe2}), false) + cont_frame(bytes({0x82}), true),
       parse_error::invalid_utf8},
  };
  for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
    cases.push_back({"reserved opcode", server_frame(fin | op, ""), parse_error::protocol});

  for (const auto& c : cases) {
    frame_parser p(1 << 20);
    p.allow_compression(c.compression);
    std::vector<inbound_event> events;
    EXPECT_EQ(p.feed(c.wire.data(), c.wire.size(), events), c.expected) << c.name;
    EXPECT_EQ(dump(events), c.events_before) << c.name;
    EXPECT_FALSE(p.error_detail().empty()) << c.name;
    EXPECT_EQ(p.bytes_buffered(), 0u) << c.name;

    // Dead from now on: a valid frame changes nothing.
    const std::string ok = text_frame("ok");
    EXPECT_EQ(p.feed(ok.data(), ok.size(), events), c.expected) << c.name;
    EXPECT_EQ(dump(events), c.events_before) << c.name;

    // Same verdict when the bytes trickle in one at a time.
    frame_parser q(1 << 20);
    q.allow_compression(c.compression);
    parse_error e = parse_error::none;
    events.clear();
    for (char ch : c.wire) {
      e = q.feed(&ch, 1, events);
      if (e != parse_error::none) break;
    }
    EXPECT_EQ(e, c.expected) << c.name << " (byte by byte)";
    EXPECT_EQ(dump(events), c.events_before) << c.name << " (byte by byte)";
  }
}

TEST(FrameParser, ErrorDetailNamesTheProblem) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  const std::string wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(p.error_detail(), "");
  EXPECT_EQ(p.feed(wire.data(), wire.size(), events), parse_error::protocol);
  EXPECT_EQ(p.error_detail(), "server frame was masked");
}

TEST(FrameParser, FailsAtTheSecondHeaderByteOfAMaskedFrame) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  EXPECT_EQ(p.feed("\x81", 1, events), parse_error::none);
  EXPECT_EQ(p.feed("\x85", 1, events), parse_error::protocol);
}

TEST(FrameParser, KeepsEventsThatPrecedeAViolation) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  const std::string wire = text_frame("first") + ping_frame("p") + server_frame(fin | 3, "") + text_frame("never");
  EXPECT_EQ(p.feed(wire.data(), wire.size(), events), parse_error::protocol);
  EXPECT_EQ(dump(events), "text:first\nping:p\n");
}

TEST(FrameParser, InvalidUtf8IsCaughtAsFragmentsArriveBeforeFin) {
  // The first fragment alone is already impossible: fail without waiting for the rest.
  frame_parser p(1024);
  std::vector<inbound_event> events;
  std::string f1 = text_frame(bytes({'o', 'k', 0xff}), false);
  EXPECT_EQ(p.feed(f1.data(), f1.size(), events), parse_error::invalid_utf8);

  // ED | A0 80: the surrogate shows up only when the second fragment's first byte arrives.
  frame_parser q(1024);
  f1 = text_frame(bytes({'a', 0xed}), false);
  const std::string f2 = cont_frame(bytes({0xa0, 0x80}), false);
  EXPECT_EQ(q.feed(f1.data(), f1.size(), events), parse_error::none);
  EXPECT_EQ(q.feed(f2.data(), 3, events), parse_error::invalid_utf8);  // header + first payload byte
  EXPECT_TRUE(events.empty());
}

TEST(FrameParser, InvalidUtf8SplitAcrossFeedsOfOneFrame) {
  const std::string f = text_frame(bytes({'a', 'b', 0xf0, 0x9d, 0xc0, 'z'}));
  frame_parser p(1024);
  std::vector<inbound_event> events;
  EXPECT_EQ(p.feed(f.data(), 5, events), parse_error::none);  // header + "ab" + F0 (a valid prefix)
  EXPECT_EQ(p.feed(f.data() + 5, 1, events), parse_error::none);  // 9D: still a valid prefix
  EXPECT_EQ(p.feed(f.data() + 6, 1, events), parse_error::invalid_utf8);  // C0 is not a continuation
}

TEST(FrameParser, ValidUtf8SplitAcrossFragmentsAndFeeds) {
  // "€" = E2 82 AC split across three fragments, each fed in two halves.
  const std::string wire = text_frame(bytes({'x', 0xe2}), false) + ping_frame("") + cont_frame(bytes({0x82}), false) +
                           cont_frame(bytes({0xac, 'y'}), true);
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    frame_parser p(1024);
    std::vector<inbound_event> events;
    ASSERT_EQ(p.feed(wire.data(), cut, events), parse_error::none) << cut;
    ASSERT_EQ(p.feed(wire.data() + cut, wire.size() - cut, events), parse_error::none) << cut;
    EXPECT_EQ(dump(events), "ping:\ntext:x\\xe2\\x82\\xacy\n") << cut;
  }
}

TEST(FrameParser, BinaryIsNotUtf8Checked) {
  EXPECT_EQ(parse(binary_frame(bytes({0xc0, 0x80, 0xff}))).error, parse_error::none);
}

// ---------------------------------------------------------------------------------------------
// Size limits

TEST(FrameParser, MessageOverTheLimitIsTooBig) {
  EXPECT_EQ(parse(binary_frame(std::string(100, 'x')), 100).error, parse_error::none);
  EXPECT_EQ(parse(binary_frame(std::string(101, 'x')), 100).error, parse_error::too_big);
  EXPECT_EQ(parse(text_frame(std::string(60, 'x'), false) + cont_frame(std::string(40, 'x'), true), 100).error,
            parse_error::none);

  // The sum of fragments counts, and the verdict comes from the second fragment's header alone.
  frame_parser p(100);
  std::vector<inbound_event> events;
  const std::string f1 = text_frame(std::string(60, 'x'), false);
  const std::string f2 = cont_frame(std::string(41, 'x'), true);
  ASSERT_EQ(p.feed(f1.data(), f1.size(), events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 60u);
  EXPECT_EQ(p.feed(f2.data(), 2, events), parse_error::too_big);
  EXPECT_EQ(p.bytes_buffered(), 0u);
  EXPECT_FALSE(p.error_detail().empty());

  // Control frames do not count towards the message.
  EXPECT_EQ(parse(text_frame(std::string(60, 'x'), false) + ping_frame(std::string(100, 'p')) +
                      cont_frame(std::string(40, 'x'), true),
                  100)
                .error,
            parse_error::none);
}

#ifdef RWS_CAN_MEASURE_HEAP
std::size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
#endif

TEST(FrameParser, OneTebibyteHeaderFailsAtOnceWithoutAllocating) {
  const std::uint64_t tib = std::uint64_t{1} << 40;
  std::string header = bytes({0x82, 0x7f});
  for (int shift = 56; shift >= 0; shift -= 8) header.push_back(static_cast<char>(tib >> shift));

  frame_parser p(16 << 20);
  std::vector<inbound_event> events;
#ifdef RWS_CAN_MEASURE_HEAP
  const std::size_t before = heap_in_use();
#endif
  EXPECT_EQ(p.feed(header.data(), header.size(), events), parse_error::too_big);
#ifdef RWS_CAN_MEASURE_HEAP
  EXPECT_LT(heap_in_use() - before, std::size_t{4096});
#endif
  EXPECT_EQ(p.bytes_buffered(), 0u);
  EXPECT_TRUE(events.empty());

  // Byte by byte: nothing before the last length byte, too_big on it.
  frame_parser q(16 << 20);
  for (std::size_t i = 0; i + 1 < header.size(); ++i) ASSERT_EQ(q.feed(&header[i], 1, events), parse_error::none);
  EXPECT_EQ(q.feed(&header.back(), 1, events), parse_error::too_big);
}

TEST(FrameParser, LargeAllowedFrameIsNotPreallocatedFromItsHeader) {
  // With a (silly) unlimited maxMessageSize, a header declaring 1 TiB is legal; the parser must
  // still hold only what actually arrived, not reserve what was announced.
  const std::uint64_t tib = std::uint64_t{1} << 40;
  std::string wire = bytes({0x82, 0x7f});
  for (int shift = 56; shift >= 0; shift -= 8) wire.push_back(static_cast<char>(tib >> shift));
  wire += std::string(1000, 'd');

  frame_parser p(UINT64_MAX);
  std::vector<inbound_event> events;
#ifdef RWS_CAN_MEASURE_HEAP
  const std::size_t before = heap_in_use();
#endif
  EXPECT_EQ(p.feed(wire.data(), wire.size(), events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 1000u);
#ifdef RWS_CAN_MEASURE_HEAP
  EXPECT_LT(heap_in_use() - before, std::size_t{1} << 20);
#endif
  EXPECT_TRUE(events.empty());
}

// ---------------------------------------------------------------------------------------------
// Reads of any shape

std::string mixed_stream() {
  std::string wire;
  wire += text_frame("Hello");
  wire += text_frame("Grüße € 𝄞");
  wire += binary_frame(std::string(300, '\x01'));   // 16-bit length
  wire += text_frame("frag-", false);
  wire += ping_frame("keepalive");
  wire += cont_frame("ment", false);
  wire += pong_frame("");
  wire += cont_frame(bytes({'-', 0xe2, 0x82}), false);  // € split across fragments
  wire += cont_frame(bytes({0xac}), true);
  std::string big(70000, '\0');                          // 64-bit length
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  wire += binary_frame(big);
  wire += text_frame("");
  wire += binary_frame("a", false);
  wire += cont_frame("", false);
  wire += cont_frame("b", true);
  wire += close_frame(close_payload(1001, "going away"));
  return wire;
}

const char* const mixed_stream_dump =
    "text:Hello\n"
    "text:Gr\\xc3\\xbc\\xc3\\x9fe \\xe2\\x82\\xac \\xf0\\x9d\\x84\\x9e\n"
    "binary:<300 bytes #";

TEST(FrameParser, TrickledBytesAndRandomReadsGiveIdenticalEvents) {
  const std::string wire = mixed_stream();
  const auto whole = parse(wire);
  ASSERT_EQ(whole.error, parse_error::none);
  ASSERT_EQ(whole.events.size(), 10u) << whole.dump;
  EXPECT_EQ(whole.dump.substr(0, std::string(mixed_stream_dump).size()), mixed_stream_dump);
  const auto& ev = whole.events;
  EXPECT_EQ(ev[2].payload, std::string(300, '\x01'));
  EXPECT_EQ(ev[3].type, kind::ping);
  EXPECT_EQ(ev[3].payload, "keepalive");
  EXPECT_EQ(ev[4].type, kind::pong);
  EXPECT_EQ(ev[5].type, kind::text);
  EXPECT_EQ(ev[5].payload, "frag-ment-\xe2\x82\xac");
  EXPECT_EQ(ev[6].type, kind::binary);
  ASSERT_EQ(ev[6].payload.size(), 70000u);
  EXPECT_EQ(static_cast<unsigned char>(ev[6].payload[69999]), static_cast<unsigned char>(69999 * 7));
  EXPECT_EQ(ev[7].type, kind::text);
  EXPECT_EQ(ev[7].payload, "");
  EXPECT_EQ(ev[8].type, kind::binary);
  EXPECT_EQ(ev[8].payload, "ab");
  EXPECT_EQ(ev[9].type, kind::close);
  EXPECT_EQ(ev[9].close_code, 1001);
  EXPECT_EQ(ev[9].payload, "going away");

  const std::string expected = whole.dump;

  frame_parser bytewise(16 << 20);
  std::vector<inbound_event> events;
  for (char c : wire) ASSERT_EQ(bytewise.feed(&c, 1, events), parse_error::none);
  EXPECT_EQ(dump(events), expected);

  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    frame_parser chunked(16 << 20);
    events.clear();
    for (std::size_t at = 0; at < wire.size();) {
      const std::size_t len = std::min<std::size_t>(wire.size() - at, rng() % (round < 10 ? 16 : 20000));
      ASSERT_EQ(chunked.feed(wire.data() + at, len, events), parse_error::none);
      at += len;
    }
    EXPECT_EQ(dump(events), expected) << "round " << round;
  }
}

TEST(FrameParser, ParsesThousandsOfSmallFramesFromOneRead) {
  std::string wire;
  for (int i = 0; i < 10000; ++i) {
    const std::string payload = "event " + std::to_string(i);
    wire += i % 3 == 2 ? binary_frame(payload) : text_frame(payload);
  }
  frame_parser p(1024);
  std::vector<inbound_event> events;
  events.reserve(10000);
  ASSERT_EQ(p.feed(wire.data(), wire.size(), events), parse_error::none);
  ASSERT_EQ(events.size(), 10000u);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(events[static_cast<std::size_t>(i)].type, i % 3 == 2 ? kind::binary : kind::text);
    ASSERT_EQ(events[static_cast<std::size_t>(i)].payload, "event " + std::to_string(i));
  }
  EXPECT_EQ(p.bytes_buffered(), 0u);
}

TEST(FrameParser, BytesBufferedCountsWhatIsHeld) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  const std::string f = text_frame("0123456789");
  EXPECT_EQ(p.feed(f.data(), 1, events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 1u);  // half a header
  EXPECT_EQ(p.feed(f.data() + 1, 4, events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 3u);  // header done, 3 payload bytes
  const std::string ping = ping_frame("abcdef");
  EXPECT_EQ(p.feed(f.data() + 5, f.size() - 5, events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 0u);
  EXPECT_EQ(p.feed(ping.data(), 5, events), parse_error::none);
  EXPECT_EQ(p.bytes_buffered(), 3u);  // partial control payload
  EXPECT_EQ(p.feed(ping.data() + 5, ping.size() - 5, events), parse_error::none);
  EXPECT_EQ(dump(events), "text:0123456789\nping:abcdef\n");
  EXPECT_EQ(p.bytes_buffered(), 0u);
}

TEST(FrameParser, EmptyFeedIsHarmless) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  EXPECT_EQ(p.feed(nullptr, 0, events), parse_error::none);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace rws
