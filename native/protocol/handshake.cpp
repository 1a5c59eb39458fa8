#include "protocol/handshake.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>              

#include <algorithm>
#include <cctype>
#include <ctime>

namespace rws {
namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::int64_t max_retry_after_ms = 10 * 60 * 1000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string upgrade_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

upgrade_request make_upgrade_request(const ws_url& url, std::string_view target, const header_list& headers,
                                     const std::vector<std::string>& protocols, std::string_view extensions) {
  unsigned char nonce[16];
  RAND_bytes(nonce, sizeof nonce);
  upgrade_request request;
  request.key = base64_encode(std::string_view(reinterpret_cast<char*>(nonce), sizeof nonce));
  std::string& t = request.text;
  t.reserve(512);
  t.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(url.host_header);
  t.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
  t.append(request.key).append("\r\n");
  if (!protocols.empty()) {
    t.append("Sec-WebSocket-Protocol: ");
    for (std::size_t i = 0; i < protocols.size(); ++i) t.append(i ? ", " : "").append(protocols[i]);
    t.append("\r\n");
  }
  if (!extensions.empty()) t.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  bool has_authorization = false;
  for (const auto& [name, value] : headers) {
    has_authorization = has_authorization || iequals(name, "authorization");
    t.append(name).append(": ").append(value).append("\r\n");
  }
  if (!url.basic_auth.empty() && !has_authorization) t.append("Authorization: Basic ").append(url.basic_auth).append("\r\n");
  t.append("User-Agent: resilient-ws\r\n\r\n");
  return request;
}

parse_status parse_upgrade_response(std::string_view received, upgrade_response& out, std::string& error) {
  auto end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (received.size() > max_header_bytes) {
      error = "the server's handshake response headers exceed 16 KiB";
      return parse_status::malformed;
    }
    return parse_status::incomplete;
  }
  if (end + 4 > max_header_bytes) {
    error = "the server's handshake response headers exceed 16 KiB";
    return parse_status::malformed;
  }
  out = {};
  out.header_bytes = end + 4;
  auto block = received.substr(0, end);
  auto line_end = block.find("\r\n");
  auto status_line = block.substr(0, line_end);
  // "HTTP/1.1 101 Switching Protocols"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[11]))) {
    error = "the server did not answer the upgrade with an HTTP/1.1 status line";
    return parse_status::malformed;
  }
  out.status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  out.status_text = std::string(trim(status_line.substr(12)));
  while (line_end != std::string_view::npos) {
    block.remove_prefix(line_end + 2);
    line_end = block.find("\r\n");
    auto line = block.substr(0, line_end);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = "the server's handshake response has a malformed header line";
      return parse_status::malformed;
    }
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return parse_status::complete;
}

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string check_upgrade(const upgrade_response& response, std::string_view key,
                          const std::vector<std::string>& offered_protocols, bool offered_deflate) {
  if (!has_token(response.header("upgrade"), "websocket")) return "the 101 response lacks 'Upgrade: websocket'";
  if (!has_token(response.header("connection"), "upgrade")) return "the 101 response lacks 'Connection: Upgrade'";
  if (response.header("sec-websocket-accept") != websocket_accept(key)) {
    return "the server's Sec-WebSocket-Accept does not match the key sent";
  }
  auto protocol = response.header("sec-websocket-protocol");
  if (!protocol.empty() &&
      std::find(offered_protocols.begin(), offered_protocols.end(), protocol) == offered_protocols.end()) {
    return "the server chose subprotocol '" + protocol + "', which was not offered";
  }
  auto extensions = response.header("sec-websocket-extensions");
  if (!extensions.empty() && !offered_deflate) return "the server enabled extensions that were not offered";
  return {};
}

std::int64_t parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return max_retry_after_ms;
    return std::min<std::int64_t>(std::stoll(std::string(value)) * 1000, max_retry_after_ms);
  }
  std::tm tm{};
  std::string text(value);
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return -1;
  // Year 0000 does not exist and a date past 9999 is no HTTP-date: ignore the header. Anything in
  // between is computed in plain seconds, never through system_clock::from_time_t, whose
  // nanosecond count overflows (undefined behaviour) outside ~1678..2262.
  const long year = tm.tm_year + 1900L;
  if (year < 1 || year > 9999) return -1;
  const std::int64_t when_ms = std::int64_t{timegm(&tm)} * 1000;
  const std::int64_t now_ms =
      std::chrono::floor<std::chrono::milliseconds>(now.time_since_epoch()).count();
  // Rounded up (now is floored): an attempt must never start before the date the server named.
  return std::clamp<std::int64_t>(when_ms - now_ms, 0, max_retry_after_ms);
}

}  // namespace rws
