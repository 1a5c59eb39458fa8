// The parser of server frames: RFC 6455 examples, every protocol violation, limits, UTF-8, and
// bytes arriving in any split.
#include "tests/protocol/frame_codec_test_support.hpp"

#include <algorithm>
#include <optional>


namespace rws {
namespace {

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

// A connection keeps no parser between reads that end at rest and parses the next read with a
// new one: that must give exactly what one parser fed the same reads gives, for every split.
TEST(FrameParser, AParserAtRestCanBeReplacedByANewOne) {
  const std::string wire = text_frame("hello") + text_frame("frag", false) + ping_frame("p") +
                           cont_frame("men", false) + cont_frame("t", true) + binary_frame(std::string(300, 'b')) +
                           pong_frame("") + text_frame("\xc3\xa9t\xc3\xa9") + close_frame("\x03\xe8" "bye") +
                           text_frame("after the close");
  std::vector<inbound_event> whole;
  frame_parser one(1024);
  ASSERT_EQ(one.feed(wire.data(), wire.size(), whole), parse_error::none);
  const std::string expected = dump(whole);
  ASSERT_EQ(whole.size(), 7u);  // text, ping, the fragmented text, binary, pong, text, close
  EXPECT_EQ(whole[2].payload, "fragment");
  int replaced = 0;
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    std::vector<inbound_event> events;
    std::optional<frame_parser> p;
    for (std::size_t at = 0; at < wire.size(); at += chunk) {
      if (!p) p.emplace(1024);
      ASSERT_EQ(p->feed(wire.data() + at, std::min(chunk, wire.size() - at), events), parse_error::none);
      if (p->at_rest()) {
        p.reset();
        ++replaced;
      }
    }
    EXPECT_EQ(dump(events), expected) << "reads of " << chunk << " bytes";
  }
  EXPECT_GT(replaced, 0);
}

TEST(FrameParser, IsAtRestOnlyBetweenFramesWithNothingUnfinished) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  EXPECT_TRUE(p.at_rest());
  const std::string f = text_frame("0123456789");
  p.feed(f.data(), 1, events);
  EXPECT_FALSE(p.at_rest());  // half a header
  p.feed(f.data() + 1, 4, events);
  EXPECT_FALSE(p.at_rest());  // in a frame's payload
  p.feed(f.data() + 5, f.size() - 5, events);
  EXPECT_TRUE(p.at_rest());
  const std::string first = text_frame("abc", false);
  p.feed(first.data(), first.size(), events);
  EXPECT_FALSE(p.at_rest());  // a message waits for its continuation
  const std::string last = cont_frame("def", true);
  p.feed(last.data(), last.size(), events);
  EXPECT_TRUE(p.at_rest());
  const std::string close = close_frame("");
  p.feed(close.data(), close.size(), events);
  EXPECT_FALSE(p.at_rest());  // the stream ended: what follows is ignored

  frame_parser bad(1024);
  const std::string masked = bytes({0x81, 0x85});
  EXPECT_NE(bad.feed(masked.data(), masked.size(), events), parse_error::none);
  EXPECT_FALSE(bad.at_rest());  // a failed parser stays failed
}

TEST(FrameParser, EmptyFeedIsHarmless) {
  frame_parser p(1024);
  std::vector<inbound_event> events;
  EXPECT_EQ(p.feed(nullptr, 0, events), parse_error::none);
  EXPECT_TRUE(events.empty());
}


}  // namespace
}  // namespace rws
