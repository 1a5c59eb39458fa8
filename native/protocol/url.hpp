#pragma once
// A ws:// or wss:// URL as a connection attempt needs it. lib/options.js parses the URL text with
// the WHATWG URL parser and passes its parts down (native/binding/config_reader.cpp); this only
// derives what is formatted from them: the Host header and the display text. There is no second
// URL parser in C++.
#include <cstdint>
#include <string>
#include <string_view>

namespace rws {

struct ws_url {
  bool tls = false;
  std::string host;         // without brackets for IPv6
  std::string port;         // always set: explicit, or 80 / 443
  std::string target;       // path + query, at least "/"
  std::string host_header;  // host[:port] as sent in the Host header ([v6] bracketed, default port left out)
  std::string basic_auth;   // base64(user:pass) when the URL carried credentials (computed by lib/)
  std::string display;      // the URL without credentials or query values (safe for events and logs)

  bool operator==(const ws_url&) const = default;
};

// Assembles a ws_url from the parts of a parsed URL. `host` may carry IPv6 brackets (WHATWG
// hostname does) or not; port 0 means the scheme's default. Nothing is validated here: the
// upgrade request builder (handshake.hpp) refuses what cannot go on the wire.
ws_url make_ws_url(bool tls, std::string_view host, std::uint16_t port, std::string_view target,
                   std::string_view basic_auth);

// Appends `name=value` (value percent-encoded) to the query of a target, replacing an existing
// parameter of that name. Used by resume via query.
std::string with_query_param(std::string_view target, std::string_view name, std::string_view value);

std::string percent_encode(std::string_view value);

}  // namespace rws
