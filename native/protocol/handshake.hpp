#pragma once
// The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 §4): building the request, parsing the
// response with strict limits, and checking it. Pure functions, unit-tested without a network.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/url.hpp"

namespace rws {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct upgrade_request {
  std::string text;  // the whole request, ready to write
  std::string key;   // Sec-WebSocket-Key sent
};

upgrade_request make_upgrade_request(const ws_url& url, std::string_view target, const header_list& headers,
                                     const std::vector<std::string>& protocols, std::string_view extensions);

struct upgrade_response {
  int status = 0;
  std::string status_text;
  header_list headers;
  std::size_t header_bytes = 0;  // bytes up to and including the blank line
  std::string header(std::string_view name) const;  // case-insensitive, first match
};

enum class parse_status : std::uint8_t { incomplete, complete, malformed };

// Parses the status line and headers from the bytes received so far. Responses whose header
// block exceeds 16 KiB are malformed (a hostile server cannot make us buffer without bound).
parse_status parse_upgrade_response(std::string_view received, upgrade_response& out, std::string& error);

// Checks a 101 response against what we sent. Returns an error text, empty when it is valid.
std::string check_upgrade(const upgrade_response& response, std::string_view key,
                          const std::vector<std::string>& offered_protocols, bool offered_deflate);

std::string websocket_accept(std::string_view key);

// Retry-After as delta-seconds or an HTTP date, in ms from `now`, capped at 10 minutes.
// Returns -1 when absent or unparsable.
std::int64_t parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace rws
