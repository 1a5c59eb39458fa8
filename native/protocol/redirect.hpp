#pragma once
// Where a 3xx answer to the upgrade sends the next try (option followRedirects): the Location
// header resolved against the URL that was asked (RFC 3986 §5, Boost.URL), http(s) mapped to
// ws(s), never down from wss:// to ws://. Credentials from the URL travel only within the same
// origin (scheme, host, port); a Location's own user info is never used.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/url.hpp"

namespace rws {

struct redirect_target {
  ws_url url;
  bool same_origin = false;  // false: the caller also drops its Authorization header
};

// Returns nullopt and sets `error` (why it cannot be followed) for an unusable Location.
std::optional<redirect_target> resolve_redirect(const ws_url& from, std::string_view location, std::string& error);

}  // namespace rws
