#include "protocol/permessage_deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace rws {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string inflate_ok(permessage_deflate& pmd, std::string_view in, std::uint64_t max = 16 << 20) {
  std::string out;
  bool too_big = true;
  EXPECT_TRUE(pmd.inflate(in, max, out, too_big));
  EXPECT_FALSE(too_big);
  return out;
}

std::string deflate_ok(permessage_deflate& pmd, std::string_view in) {
  std::string out;
  EXPECT_TRUE(pmd.deflate(in, out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Negotiation

TEST(PermessageDeflate, OffersClientMaxWindowBits) {
  EXPECT_EQ(permessage_deflate_offer(), "permessage-deflate; client_max_window_bits");
}

TEST(PermessageDeflate, ParsesValidResponses) {
  std::string error;
  auto p = parse_deflate_response("permessage-deflate", error);
  ASSERT_TRUE(p) << error;
  EXPECT_FALSE(p->server_no_context_takeover);
  EXPECT_FALSE(p->client_no_context_takeover);
  EXPECT_EQ(p->server_max_window_bits, 15);
  EXPECT_EQ(p->client_max_window_bits, 15);

  p = parse_deflate_response(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
      "client_max_window_bits=8",
      error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_TRUE(p->client_no_context_takeover);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(p->client_max_window_bits, 8);

  // Whitespace, letter case and quoted values are all legal HTTP.
  p = parse_deflate_response("  Permessage-Deflate ;client_max_window_bits = \"12\" ;\tSERVER_NO_CONTEXT_TAKEOVER  ",
                             error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->client_max_window_bits, 12);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_FALSE(p->client_no_context_takeover);
  EXPECT_EQ(p->server_max_window_bits, 15);
}

TEST(PermessageDeflate, RejectsInvalidResponses) {
  const char* const invalid[] = {
      "",
      "   ",
      "x-webkit-deflate-frame",
      "permessage-deflate, permessage-deflate",
      "permessage-deflate; client_max_window_bits=10, x-foo",
      "permessage-deflate; unknown_param",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      "permessage-deflate; client_max_window_bits=9; client_max_window_bits=10",
      "permessage-deflate; server_no_context_takeover=1",
      "permessage-deflate; client_no_context_takeover=\"\"",
      "permessage-deflate; client_max_window_bits",  // a response must give the value
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=08",
      "permessage-deflate; server_max_window_bits=abc",
      "permessage-deflate; server_max_window_bits=",
      "permessage-deflate; server_max_window_bits=\"10",
      "permessage-deflate;",
      "permessage-deflate; ;",
      "permessage-deflate garbage",
  };
  for (const char* value : invalid) {
    std::string error;
    EXPECT_FALSE(parse_deflate_response(value, error)) << "'" << value << "'";
    EXPECT_FALSE(error.empty()) << "'" << value << "'";
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 7692 §7.2.3 examples

TEST(PermessageDeflate, InflatesRfc7692Examples) {
  permessage_deflate pmd({});
  // 7.2.3.1: "Hello" in one compressed block.
  EXPECT_EQ(inflate_ok(pmd, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  // 7.2.3.2: the same message again, referring back to the first one (context takeover).
  EXPECT_EQ(inflate_ok(pmd, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})), "Hello");

  permessage_deflate fresh({});
  // 7.2.3.3: "Hello" in a stored (uncompressed) block.
  EXPECT_EQ(inflate_ok(fresh, bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})), "Hello");
  // 7.2.3.5: a block with BFINAL set ends the stream; what follows is padding.
  EXPECT_EQ(inflate_ok(fresh, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), "Hello");
  // The next message starts a new stream.
  EXPECT_EQ(inflate_ok(fresh, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
}

TEST(PermessageDeflate, ServerNoContextTakeoverResetsTheInflater) {
  deflate_params params;
  params.server_no_context_takeover = true;
  permessage_deflate pmd(params);
  EXPECT_EQ(inflate_ok(pmd, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  // The RFC's second message refers to the first; with the context dropped it cannot decode.
  std::string out;
  bool too_big = true;
  EXPECT_FALSE(pmd.inflate(bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), 1024, out, too_big));
  EXPECT_FALSE(too_big);
  EXPECT_EQ(out, "");
}

TEST(PermessageDeflate, DeflatesHelloLikeTheRfc) {
  permessage_deflate pmd({});
  EXPECT_EQ(deflate_ok(pmd, "Hello"), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  // The second one refers back to the first (context takeover): shorter than the first.
  const std::string second = deflate_ok(pmd, "Hello");
  EXPECT_LT(second.size(), 7u);
  permessage_deflate peer({});
  EXPECT_EQ(inflate_ok(peer, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  EXPECT_EQ(inflate_ok(peer, second), "Hello");
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(PermessageDeflate, RoundTripsMessagesOfManySizes) {
  std::mt19937 rng(3);
  permessage_deflate client({});
  permessage_deflate server({});  // stands in for the server's inflater (same parameters)
  for (std::size_t n : {0u, 1u, 5u, 1000u, 65536u, 100000u, 1u << 20}) {
    for (bool random : {false, true}) {
      std::string msg(n, '\0');
      for (std::size_t i = 0; i < n; ++i)
        msg[i] = random ? static_cast<char>(rng()) : "the quick brown fox jumps over the lazy dog "[i % 44];
      std::string wire;
      ASSERT_TRUE(client.deflate(msg, wire));
      ASSERT_FALSE(wire.size() >= 4 && wire.compare(wire.size() - 4, 4, bytes({0, 0, 0xff, 0xff})) == 0)
          << "the 00 00 ff ff tail must be stripped";
      if (!random && n >= 1000) {
        EXPECT_LT(wire.size(), n / 10) << n;
      }
      EXPECT_TRUE(inflate_ok(server, wire) == msg) << "size " << n << " random " << random;
    }
  }
}

TEST(PermessageDeflate, EmptyMessage) {
  permessage_deflate pmd({});
  EXPECT_EQ(deflate_ok(pmd, ""), bytes({0x00}));  // RFC 7692 §7.2.3.6
  EXPECT_EQ(inflate_ok(pmd, bytes({0x00})), "");
  EXPECT_EQ(inflate_ok(pmd, ""), "");
}

TEST(PermessageDeflate, AppendsToExistingOutput) {
  permessage_deflate a({});
  permessage_deflate b({});
  std::string wire = "prefix";
  ASSERT_TRUE(a.deflate("payload", wire));
  ASSERT_EQ(wire.substr(0, 6), "prefix");
  std::string out = "head:";
  bool too_big = false;
  ASSERT_TRUE(b.inflate(std::string_view(wire).substr(6), 1024, out, too_big));
  EXPECT_EQ(out, "head:payload");
}

TEST(PermessageDeflate, ContextTakeoverAcrossMessages) {
  const std::string msg = std::string("{\"type\":\"update\",\"symbol\":\"ACME\",\"price\":") + "1234.5678" + ",\"seq\":1}";
  permessage_deflate keep({});
  const std::string first = deflate_ok(keep, msg);
  const std::string second = deflate_ok(keep, msg);
  EXPECT_LT(second.size(), first.size()) << "the second message should refer back to the first";

  // The peer inflater must keep its context too, and in order.
  permessage_deflate peer({});
  EXPECT_EQ(inflate_ok(peer, first), msg);
  EXPECT_EQ(inflate_ok(peer, second), msg);

  // A fresh inflater cannot decode the second message alone.
  permessage_deflate fresh({});
  std::string out;
  bool too_big = false;
  EXPECT_FALSE(fresh.inflate(second, 1 << 20, out, too_big));

  // client_no_context_takeover: every message is compressed on its own and decodes alone.
  deflate_params params;
  params.client_no_context_takeover = true;
  permessage_deflate reset(params);
  const std::string a = deflate_ok(reset, msg);
  const std::string b = deflate_ok(reset, msg);
  EXPECT_EQ(a, b);
  permessage_deflate alone({});
  EXPECT_EQ(inflate_ok(alone, b), msg);
}

TEST(PermessageDeflate, SmallWindowsWork) {
  deflate_params params;
  params.client_max_window_bits = 8;  // zlib cannot deflate raw with 8: 9 is used
  params.server_max_window_bits = 8;
  permessage_deflate pmd(params);
  std::string msg;
  for (int i = 0; i < 2000; ++i) msg += "window " + std::to_string(i % 37) + ";";
  const std::string wire = deflate_ok(pmd, msg);
  EXPECT_EQ(inflate_ok(pmd, wire), msg);  // our inflater reads what a 9-bit zlib sender writes
}

// ---------------------------------------------------------------------------------------------
// Limits and hostile input

// A raw-deflate message (tail stripped) of `mib` MiB of zeros, built cheaply: one MiB is
// compressed once with a sync flush (a byte-aligned run of blocks that only refer to itself) and
// that run is repeated.
std::string zip_bomb(std::size_t mib) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string zeros(1 << 20, '\0');
  std::string chunk(1 << 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(zeros.data());
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = reinterpret_cast<Bytef*>(chunk.data());
  z.avail_out = static_cast<uInt>(chunk.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  EXPECT_EQ(z.avail_in, 0u);
  EXPECT_NE(z.avail_out, 0u);
  chunk.resize(chunk.size() - z.avail_out);
  deflateEnd(&z);
  std::string out;
  for (std::size_t i = 0; i < mib; ++i) out += chunk;
  EXPECT_EQ(out.substr(out.size() - 4), bytes({0, 0, 0xff, 0xff}));
  out.resize(out.size() - 4);
  return out;
}

// Streams the message (plus the tail) through plain zlib and counts the output.
std::size_t inflated_size(std::string_view message) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string in(message);
  in += bytes({0, 0, 0xff, 0xff});
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  std::size_t total = 0;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
    total += sizeof buf - z.avail_out;
  } while (z.avail_out == 0);
  inflateEnd(&z);
  return total;
}

TEST(PermessageDeflate, ZipBombIsStoppedAtTheLimit) {
  const std::string bomb = zip_bomb(100);  // 100 MiB of zeros
  EXPECT_LT(bomb.size(), std::size_t{200} << 10);  // deflate tops out near 1:1000

  EXPECT_EQ(inflated_size(bomb), std::size_t{100} << 20);  // the bomb is real

  constexpr std::uint64_t limit = 16 << 20;
  permessage_deflate pmd({});
  std::string out = "kept";
  bool too_big = false;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pmd.inflate(bomb, limit, out, too_big));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(too_big);
  EXPECT_EQ(out, "kept");  // nothing of the partial inflation is left behind
  EXPECT_LE(out.capacity(), 2 * (limit + 1) + 64) << "never allocated much past the limit";
  // Inflating the first 16 MiB takes milliseconds; the other 84 MiB must never be produced.
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(PermessageDeflate, LimitIsExact) {
  const std::string msg(5000, 'q');
  permessage_deflate a({});
  const std::string wire = deflate_ok(a, msg);

  deflate_params no_ctx;
  no_ctx.server_no_context_takeover = true;
  permessage_deflate b(no_ctx);
  std::string out;
  bool too_big = false;
  EXPECT_TRUE(b.inflate(wire, 5000, out, too_big));
  EXPECT_FALSE(too_big);
  EXPECT_EQ(out, msg);

  out.clear();
  EXPECT_FALSE(b.inflate(wire, 4999, out, too_big));
  EXPECT_TRUE(too_big);
  EXPECT_EQ(out, "");
}

// Pins issue 8 item 8: a message whose deflate stream ends with a final block (BFINAL=1) made
// zlib return Z_STREAM_END, and that return was handled before the size check, so inflate()
// reported success with max_size + 1 bytes. `d3` (plus the 00 00 ff ff tail) is one byte in a final block: over a limit of 0.
TEST(PermessageDeflate, FinalBlockCannotExceedTheLimitByOneByte) {
  permessage_deflate pmd({});
  std::string out = "kept";
  bool too_big = false;
  EXPECT_FALSE(pmd.inflate(bytes({0xd3}), 0, out, too_big));
  EXPECT_TRUE(too_big);
  EXPECT_EQ(out, "kept");

  // The same stream with room for its byte still inflates.
  permessage_deflate fresh({});
  std::string one;
  EXPECT_TRUE(fresh.inflate(bytes({0xd3}), 1, one, too_big));
  EXPECT_FALSE(too_big);
  EXPECT_EQ(one.size(), 1u);
}

// zlib out of memory: deflate() says so and leaves `out` as it was (the connection then fails the
// message instead of sending an empty compressed frame; see tests/transport).
TEST(PermessageDeflate, DeflateReportsAnAllocationFailure) {
  zlib_allocator failing;
  failing.alloc = [](void*, unsigned, unsigned) -> void* { return nullptr; };
  failing.release = [](void*, void*) {};
  permessage_deflate pmd({}, failing);
  std::string out = "kept";
  EXPECT_FALSE(pmd.deflate(std::string(4096, 'x'), out));
  EXPECT_EQ(out, "kept");
}

TEST(PermessageDeflate, CorruptDataFailsWithoutTooBig) {
  permessage_deflate pmd({});
  std::string out;
  bool too_big = true;
  EXPECT_FALSE(pmd.inflate(bytes({0xff, 0xff, 0xff, 0xff, 0xff}), 1024, out, too_big));  // reserved block type
  EXPECT_FALSE(too_big);
  EXPECT_EQ(out, "");
}

TEST(PermessageDeflate, TruncatedMessageFails) {
  permessage_deflate a({});
  const std::string wire = deflate_ok(a, std::string(3000, 'x') + "tail of a longer message, cut off");
  permessage_deflate b({});
  std::string out;
  bool too_big = true;
  EXPECT_FALSE(b.inflate(std::string_view(wire).substr(0, wire.size() / 2), 1 << 20, out, too_big));
  EXPECT_FALSE(too_big);
}

}  // namespace
}  // namespace rws
