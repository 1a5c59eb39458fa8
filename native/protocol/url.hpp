#pragma once
// Parsing of ws:// and wss:// URLs into what a connection attempt needs. Credentials in the
// userinfo part become a Basic Authorization header and never appear in `display`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rws {

struct ws_url {
  bool tls = false;
  std::string host;       // without brackets for IPv6
  std::string port;       // always set: explicit, or 80 / 443
  std::string target;     // path + query, at least "/"
  std::string host_header;  // host[:port] as sent in the Host header
  std::string basic_auth;   // base64(user:pass) when the URL carried credentials
  std::string display;      // the URL with any credentials removed (safe for events and logs)
};

// Returns nullopt and sets `error` when the URL is not a usable ws:// or wss:// URL.
std::optional<ws_url> parse_ws_url(std::string_view text, std::string& error);

// Appends `name=value` (value percent-encoded) to the query of a target, replacing an existing
// parameter of that name. Used by resume via query.
std::string with_query_param(std::string_view target, std::string_view name, std::string_view value);

// The URL text with any user:password@ removed, for error messages about URLs that did not parse.
std::string redact_credentials(std::string_view url);

std::string percent_encode(std::string_view value);
std::string base64_encode(std::string_view data);

}  // namespace rws
