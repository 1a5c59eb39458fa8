// The client side of RFC 6455 framing: encoding and masking outgoing frames, close payloads.
#include "tests/protocol/frame_codec_test_support.hpp"


namespace rws {
namespace {

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


}  // namespace
}  // namespace rws
