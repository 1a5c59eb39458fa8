#include "protocol/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <ctime>
#include <sstream>

namespace rws {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::int64_t max_retry_after_ms = 10 * 60 * 1000;

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a trailing NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// RFC 7230 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// A header value may hold anything but the bytes that end or cut a header line.
bool fits_field_value(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// The request line and Host header are space-separated: no spaces, no control characters.
bool fits_request_line(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u > 0x20 && u != 0x7f;
         });
}

// The refused text is quoted escaped, so the message itself stays one clean line.
std::string quoted(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out.append("\\x").push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out.append(s.size() > 80 ? "…'" : "'");
}

// Why Beast refused a response head, in words a user can act on.
std::string describe_parse_error(const boost::beast::error_code& ec) {
  if (ec == http::error::header_limit) return "the server's handshake response headers exceed 16 KiB";
  if (ec == http::error::bad_version || ec == http::error::bad_status || ec == http::error::bad_reason ||
      ec == http::error::bad_line_ending) {
    return "the server did not answer the upgrade with an HTTP/1.1 status line (" + ec.message() + ")";
  }
  return "the server's handshake response has a malformed header (" + ec.message() + ")";
}

}  // namespace

std::string upgrade_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (boost::beast::iequals(k, name)) return v;
  }
  return {};
}

std::optional<upgrade_request> make_upgrade_request(const ws_url& url, std::string_view target,
                                                    const header_list& headers,
                                                    const std::vector<std::string>& protocols,
                                                    std::string_view extensions, std::string& error) {
  const char* const fix = "; it cannot be sent in an HTTP request";
  if (!fits_request_line(url.host_header)) {
    error = "the host " + quoted(url.host_header) + " is empty or contains a space or control character" + fix;
    return std::nullopt;
  }
  if (!fits_request_line(target) || target.front() != '/') {
    error = "the request target " + quoted(target) +
            " must start with '/' and contain no space or control character (percent-encode them)";
    return std::nullopt;
  }
  for (const auto& protocol : protocols) {
    if (!is_token(protocol)) {
      error = "the subprotocol " + quoted(protocol) + " is not an RFC 7230 token" + fix;
      return std::nullopt;
    }
  }
  if (!fits_field_value(extensions)) {
    error = "the Sec-WebSocket-Extensions offer contains CR, LF or NUL";
    return std::nullopt;
  }
  bool has_authorization = false;
  for (const auto& [name, value] : headers) {
    if (!is_token(name)) {
      error = "the header name " + quoted(name) + " is not an RFC 7230 token" + fix;
      return std::nullopt;
    }
    if (!fits_field_value(value)) {
      error = "the value of header " + quoted(name) + " contains CR, LF or NUL" + fix;
      return std::nullopt;
    }
    has_authorization = has_authorization || boost::beast::iequals(name, "authorization");
  }
  if (!fits_field_value(url.basic_auth)) {
    error = "the URL credentials do not fit an Authorization header";
    return std::nullopt;
  }

  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    error = "OpenSSL's random generator failed to produce a Sec-WebSocket-Key";
    return std::nullopt;
  }
  upgrade_request request;
  request.key = base64(nonce, sizeof nonce);

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, request.key);
  if (!protocols.empty()) {
    std::string list;
    for (const auto& protocol : protocols) list.append(list.empty() ? "" : ", ").append(protocol);
    req.set(http::field::sec_websocket_protocol, list);
  }
  if (!extensions.empty()) req.set(http::field::sec_websocket_extensions, extensions);
  for (const auto& [name, value] : headers) req.insert(name, value);
  if (!url.basic_auth.empty() && !has_authorization) req.set(http::field::authorization, "Basic " + url.basic_auth);
  req.set(http::field::user_agent, "resilient-ws");

  std::ostringstream text;
  text << req;
  request.text = std::move(text).str();
  return request;
}

std::optional<std::string> make_connect_request(std::string_view authority, std::string_view proxy_authorization,
                                                std::string& error) {
  if (!fits_request_line(authority)) {
    error = "the proxy tunnel target " + quoted(authority) + " is empty or contains a space or control character";
    return std::nullopt;
  }
  if (!fits_field_value(proxy_authorization)) {
    error = "the proxy credentials do not fit a Proxy-Authorization header";
    return std::nullopt;
  }
  http::request<http::empty_body> req{http::verb::connect, authority, 11};
  req.set(http::field::host, authority);
  if (!proxy_authorization.empty()) req.set(http::field::proxy_authorization, proxy_authorization);
  req.set(http::field::user_agent, "resilient-ws");
  std::ostringstream text;
  text << req;
  return std::move(text).str();
}

parse_status parse_upgrade_response(std::string_view received, upgrade_response& out, std::string& error) {
  // A fresh parser over everything received so far: the head is at most 16 KiB and arrives in a
  // few reads, and a pure function on bytes is what the unit tests and the fuzzer can drive.
  http::response_parser<http::empty_body> parser;
  parser.header_limit(max_header_bytes);
  parser.eager(false);  // stop after the head; what follows a 101 are frames, not a body
  // The body of a refusal is never read: a Content-Length over Beast's default body limit must
  // not turn "503 + Retry-After" into a malformed answer.
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::const_buffer(received.data(), received.size()), ec);
  if (ec == http::error::need_more) {
    // Beast checks the limit only on what it was given; a head still unfinished at 16 KiB is over.
    if (received.size() >= max_header_bytes) {
      error = describe_parse_error(http::error::header_limit);
      return parse_status::malformed;
    }
    return parse_status::incomplete;
  }
  // Beast leaves the final blank line out of its count; the limit here covers the whole head.
  if (!ec && used > max_header_bytes) ec = http::error::header_limit;
  if (ec || !parser.is_header_done()) {
    error = describe_parse_error(ec ? ec : boost::beast::error_code(http::error::need_more));
    return parse_status::malformed;
  }
  const auto& head = parser.get();
  out = {};
  out.header_bytes = used;
  out.status = static_cast<int>(head.result_int());
  out.status_text = std::string(head.reason());
  for (const auto& field : head) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return parse_status::complete;
}

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr) != 1) return {};
  return base64(digest, size);
}

std::string check_upgrade(const upgrade_response& response, std::string_view key,
                          const std::vector<std::string>& offered_protocols, bool offered_deflate) {
  if (!http::token_list(response.header("upgrade")).exists("websocket")) {
    return "the 101 response lacks 'Upgrade: websocket'";
  }
  if (!http::token_list(response.header("connection")).exists("upgrade")) {
    return "the 101 response lacks 'Connection: Upgrade'";
  }
  const std::string expected = websocket_accept(key);
  if (expected.empty() || response.header("sec-websocket-accept") != expected) {
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
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
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
