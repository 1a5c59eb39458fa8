#pragma once
// The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 §4): building the request, parsing the
// response with strict limits (Beast's HTTP parser), and checking it. Pure functions on bytes,
// unit-tested and fuzzed without a network; the connection does the I/O.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/url.hpp"

namespace rws {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct upgrade_request {
  std::string text;  // the whole request, ready to write
  std::string key;   // Sec-WebSocket-Key sent (16 bytes from OpenSSL's CSPRNG, base64)
};

// Builds the request. Returns nullopt with `error` naming the field when something cannot go on
// the wire as given: a host or target with a space, CR, LF, NUL or another control character, a
// header name or subprotocol that is not an RFC 7230 token, a header value or extension offer with
// CR, LF or NUL. Nothing is sanitised silently (a CR LF in a value would let it write header lines
// of its own); lib/ validates options first, but the core does not rely on it.
std::optional<upgrade_request> make_upgrade_request(const ws_url& url, std::string_view target,
                                                    const header_list& headers,
                                                    const std::vector<std::string>& protocols,
                                                    std::string_view extensions, std::string& error);

// The CONNECT request that opens a tunnel to `authority` (host:port, an IPv6 host in brackets)
// through an HTTP proxy (RFC 9110 §9.3.6). `proxy_authorization` is the whole header value
// ("Basic …") or empty. The proxy's answer is parsed like an upgrade response: any 2xx opens the
// tunnel, and the bytes after its head belong to the tunnel.
std::optional<std::string> make_connect_request(std::string_view authority, std::string_view proxy_authorization,
                                                std::string& error);

struct upgrade_response {
  int status = 0;
  std::string status_text;
  header_list headers;           // in arrival order, values without surrounding whitespace
  std::size_t header_bytes = 0;  // bytes up to and including the blank line
  std::string header(std::string_view name) const;  // case-insensitive, first match
};

enum class parse_status : std::uint8_t { incomplete, complete, malformed };

// Parses the status line and headers from all bytes received so far (call again with more when
// it returns incomplete). Bytes after header_bytes are the first WebSocket frames. A header block
// over 16 KiB is malformed (a hostile server cannot make us buffer without bound); so is anything
// that is not HTTP/1.x, with `error` saying what.
parse_status parse_upgrade_response(std::string_view received, upgrade_response& out, std::string& error);

// Checks a 101 response against what we sent. Returns an error text, empty when it is valid.
std::string check_upgrade(const upgrade_response& response, std::string_view key,
                          const std::vector<std::string>& offered_protocols, bool offered_deflate);

std::string websocket_accept(std::string_view key);

// Retry-After as delta-seconds or an HTTP date, in ms from `now`, capped at 10 minutes; a date
// in the past is 0. Returns -1 when absent or unparsable (including years 0000 and past 9999).
std::int64_t parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace rws
