#pragma once
// Helpers shared by the frame encoder and frame parser tests: hand-built server frames, a client
// frame decoder, and a readable dump of parsed events.
#include <gtest/gtest.h>

#include "protocol/frame_codec.hpp"

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

}  // namespace
}  // namespace rws
