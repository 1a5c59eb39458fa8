#include "protocol/permessage_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace rws {
namespace {

constexpr std::string_view extension_name = "permessage-deflate";

// RFC 7692 §7.2.1/§7.2.2: senders strip this empty stored block's LEN/NLEN; receivers put it back.
constexpr unsigned char deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

// zlib refuses windowBits 8 for raw deflate, and since 1.2.9 a zlib sender asked for 8 really
// uses 9. So we compress with 9 when 8 was negotiated (as zlib-based servers do), and inflate
// with at least 9 so such a server's messages still decode.
int zlib_window_bits(int negotiated) { return -std::clamp(negotiated, 9, 15); }

// zlib counts in uInt (32 bits): feed and drain it in pieces that fit.
constexpr std::size_t max_zlib_chunk = UINT_MAX;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 7230 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A cursor over the header value; the grammar (RFC 6455 §9.1) is
//   extension *( "," extension ),  extension = token *( ";" token [ "=" (token | quoted-string) ] )
class header_reader {
 public:
  explicit header_reader(std::string_view s) : s_(s) {}
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool at_end() const { return i_ == s_.size(); }
  char peek() const { return s_[i_]; }
  void advance() { ++i_; }
  std::string_view token() {
    const std::size_t start = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // Unquotes into `out`; false when the closing quote is missing.
  bool quoted(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (i_ == s_.size()) return false;
        out.push_back(s_[i_++]);
      } else {
        out.push_back(c);
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// RFC 7692 §7.1.2: 1*DIGIT without a leading zero, 8..15.
bool parse_window_bits(std::string_view v, int& bits) {
  if (v.empty() || v.size() > 2 || v[0] == '0') return false;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return false;
  bits = n;
  return true;
}

}  // namespace

std::string permessage_deflate_offer() { return "permessage-deflate; client_max_window_bits"; }

std::optional<deflate_params> parse_deflate_response(std::string_view header_value, std::string& error) {
  header_reader r(header_value);
  r.skip_space();
  const std::string_view name = r.token();
  if (name.empty()) {
    error = "empty or malformed Sec-WebSocket-Extensions response";
    return std::nullopt;
  }
  if (!iequals(name, extension_name)) {
    error = "server accepted an extension that was not offered: " + std::string(name);
    return std::nullopt;
  }
  deflate_params params;
  bool seen[4] = {false, false, false, false};
  for (;;) {
    r.skip_space();
    if (r.at_end()) break;
    if (r.peek() == ',') {
      error = "server accepted more than one extension";
      return std::nullopt;
    }
    if (r.peek() != ';') {
      error = "malformed Sec-WebSocket-Extensions response";
      return std::nullopt;
    }
    r.advance();
    r.skip_space();
    const std::string_view param = r.token();
    if (param.empty()) {
      error = "malformed permessage-deflate parameter";
      return std::nullopt;
    }
    r.skip_space();
    bool has_value = false;
    std::string value;
    if (!r.at_end() && r.peek() == '=') {
      r.advance();
      r.skip_space();
      has_value = true;
      if (!r.at_end() && r.peek() == '"') {
        if (!r.quoted(value)) {
          error = "unterminated quoted value in permessage-deflate parameter";
          return std::nullopt;
        }
      } else {
        value = std::string(r.token());
      }
    }

    int index;
    if (iequals(param, "server_no_context_takeover")) index = 0;
    else if (iequals(param, "client_no_context_takeover")) index = 1;
    else if (iequals(param, "server_max_window_bits")) index = 2;
    else if (iequals(param, "client_max_window_bits")) index = 3;
    else {
      error = "unknown permessage-deflate parameter: " + std::string(param);
      return std::nullopt;
    }
    if (seen[index]) {
      error = "duplicate permessage-deflate parameter: " + std::string(param);
      return std::nullopt;
    }
    seen[index] = true;
    if (index <= 1) {
      if (has_value) {
        error = std::string(param) + " takes no value";
        return std::nullopt;
      }
      (index == 0 ? params.server_no_context_takeover : params.client_no_context_takeover) = true;
    } else {
      // In a response both window sizes need a value (RFC 7692 §7.1.2.1, §7.1.2.2).
      int bits = 0;
      if (!has_value || !parse_window_bits(value, bits)) {
        error = std::string(param) + " needs a value from 8 to 15";
        return std::nullopt;
      }
      (index == 2 ? params.server_max_window_bits : params.client_max_window_bits) = bits;
    }
  }
  return params;
}

struct permessage_deflate::streams {
  z_stream inflater{};
  z_stream deflater{};
  bool inflater_ready = false;
  bool deflater_ready = false;

  ~streams() {
    if (inflater_ready) inflateEnd(&inflater);
    if (deflater_ready) deflateEnd(&deflater);
  }
};

permessage_deflate::permessage_deflate(const deflate_params& params, const zlib_allocator& allocator)
    : params_(params), allocator_(allocator), streams_(std::make_unique<streams>()) {
  for (z_stream* z : {&streams_->inflater, &streams_->deflater}) {
    z->zalloc = allocator_.alloc;
    z->zfree = allocator_.release;
    z->opaque = allocator_.opaque;
  }
}

permessage_deflate::~permessage_deflate() = default;

bool permessage_deflate::inflate(std::string_view in, std::uint64_t max_size, std::string& out, bool& too_big) {
  too_big = false;
  // An empty payload is an empty message (the tail alone is not a complete block, so don't feed it).
  if (in.empty()) return true;

  streams& s = *streams_;
  z_stream& z = s.inflater;
  if (!s.inflater_ready) {
    if (inflateInit2(&z, zlib_window_bits(params_.server_max_window_bits)) != Z_OK) return false;
    s.inflater_ready = true;
  }

  const std::size_t base = out.size();
  // Room for one byte more than allowed: that byte is how "exactly max_size" and "too big" differ.
  const std::uint64_t allowed = max_size == UINT64_MAX ? max_size : max_size + 1;
  std::uint64_t produced = 0;
  bool stream_end = false;
  bool failed = false;

  // Runs the input through zlib, output bounded by `allowed`. The allocation grows with what was
  // actually produced, never with what the input might expand to.
  auto run = [&](const unsigned char* data, std::size_t len) {
    for (;;) {
      if (z.avail_in == 0) {
        if (len == 0) return;
        const std::size_t chunk = std::min(len, max_zlib_chunk);
        z.next_in = const_cast<Bytef*>(data);
        z.avail_in = static_cast<uInt>(chunk);
        data += chunk;
        len -= chunk;
      }
      if (out.size() - base == produced) {
        if (produced >= allowed) {
          too_big = true;
          return;
        }
        const std::uint64_t room = allowed - produced;
        const std::uint64_t want = std::max<std::uint64_t>({produced, std::uint64_t{16384}, std::uint64_t{in.size()} * 2});
        out.resize(base + static_cast<std::size_t>(produced + std::min({room, want, std::uint64_t{max_zlib_chunk}})));
      }
      const std::size_t space = out.size() - base - static_cast<std::size_t>(produced);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + base + produced);
      z.avail_out = static_cast<uInt>(space);
      const int rc = ::inflate(&z, Z_SYNC_FLUSH);
      produced += space - z.avail_out;
      if (rc == Z_STREAM_END) {
        // The server ended the deflate stream (BFINAL=1); whatever follows is padding. The last
        // block may still have filled the one spare byte: the limit applies to it too.
        if (produced > max_size) {
          too_big = true;
          return;
        }
        stream_end = true;
        return;
      }
      // Z_BUF_ERROR only means "no progress this call"; with both input and room left it would
      // spin forever, so treat that (never seen in practice) as corrupt data.
      if ((rc != Z_OK && rc != Z_BUF_ERROR) || (rc == Z_BUF_ERROR && z.avail_in != 0 && z.avail_out != 0)) {
        failed = true;
        return;
      }
      if (produced > max_size) {
        too_big = true;
        return;
      }
      // zlib had output room left and stopped: this input is used up and fully flushed.
      if (z.avail_in == 0 && z.avail_out != 0 && len == 0) return;
    }
  };

  run(reinterpret_cast<const unsigned char*>(in.data()), in.size());
  if (!too_big && !failed && !stream_end) {
    run(deflate_tail, sizeof deflate_tail);
    // After the tail a well-formed message leaves zlib between blocks (data_type bit 128). If it
    // is mid-block, the message was truncated and the shared context is now garbage.
    if (!too_big && !failed && !stream_end && !(z.data_type & 128)) failed = true;
  }
  z.avail_in = 0;
  z.next_in = nullptr;

  if (too_big || failed) {
    out.resize(base);
    inflateReset(&z);
    return false;
  }
  out.resize(base + static_cast<std::size_t>(produced));
  // A finished stream cannot continue; without context takeover every message starts fresh.
  if (stream_end || params_.server_no_context_takeover) inflateReset(&z);
  return true;
}

bool permessage_deflate::deflate(std::string_view in, std::string& out) {
  streams& s = *streams_;
  z_stream& z = s.deflater;
  if (!s.deflater_ready) {
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, zlib_window_bits(params_.client_max_window_bits), 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      return false;  // out of memory; a failed init frees what it got, so a later call may retry
    s.deflater_ready = true;
  }

  const std::size_t base = out.size();
  // deflateBound covers incompressible input; the sync flush adds at most a few bytes more.
  out.resize(base + deflateBound(&z, static_cast<uLong>(std::min(in.size(), max_zlib_chunk))) + 16);
  std::size_t produced = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t left = in.size();
  for (;;) {
    if (z.avail_in == 0 && left != 0) {
      const std::size_t chunk = std::min(left, max_zlib_chunk);
      z.next_in = const_cast<Bytef*>(data);
      z.avail_in = static_cast<uInt>(chunk);
      data += chunk;
      left -= chunk;
    }
    const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    if (out.size() - base == produced) out.resize(out.size() + std::max<std::size_t>(4096, produced / 2));
    const std::size_t space = std::min(out.size() - base - produced, max_zlib_chunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + base + produced);
    z.avail_out = static_cast<uInt>(space);
    const int rc = ::deflate(&z, flush);
    produced += space - z.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(base);
      deflateReset(&z);
      return false;
    }
    if (flush == Z_SYNC_FLUSH && z.avail_in == 0 && z.avail_out != 0) break;
  }
  z.next_in = nullptr;
  // A sync flush always ends with the empty stored block; strip its LEN/NLEN (RFC 7692 §7.2.1).
  if (produced >= 4 && std::memcmp(out.data() + base + produced - 4, deflate_tail, 4) == 0) produced -= 4;
  out.resize(base + produced);
  if (params_.client_no_context_takeover) deflateReset(&z);
  return true;
}

}  // namespace rws
