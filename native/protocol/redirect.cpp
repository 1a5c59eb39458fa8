#include "protocol/redirect.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace rws {

std::optional<redirect_target> resolve_redirect(const ws_url& from, std::string_view location, std::string& error) {
  namespace urls = boost::urls;
  if (from.target.empty() || from.target.front() != '/') {
    // Only an origin-form target can be the path of the URL the redirect is resolved against.
    error = "the request target does not start with '/'";
    return std::nullopt;
  }
  const std::string base_text = std::string(from.tls ? "wss://" : "ws://") + from.host_header + from.target;
  auto base = urls::parse_uri(base_text);
  auto reference = urls::parse_uri_reference(location);
  if (!base || !reference) {
    error = "the Location header is not a URL";
    return std::nullopt;
  }
  urls::url resolved;
  if (auto r = urls::resolve(*base, *reference, resolved); !r) {
    error = "the Location header cannot be resolved against the URL (" + r.error().message() + ")";
    return std::nullopt;
  }
  const std::string scheme(resolved.scheme());
  bool tls;
  if (scheme == "wss" || scheme == "https") {
    tls = true;
  } else if (scheme == "ws" || scheme == "http") {
    tls = false;
  } else {
    error = "the redirect goes to a " + scheme + ": URL, not ws://, wss://, http:// or https://";
    return std::nullopt;
  }
  if (from.tls && !tls) {
    error = "the redirect would go from wss:// down to an unencrypted ws:// URL";
    return std::nullopt;
  }
  if (resolved.encoded_host().empty()) {
    error = "the redirect has no host";
    return std::nullopt;
  }
  std::string target(resolved.encoded_path());
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  if (resolved.has_query()) target += "?" + std::string(resolved.encoded_query());
  const std::uint16_t port = resolved.has_port() ? resolved.port_number() : 0;
  // The host as the request must carry it: percent-decoded name, or the IP literal.
  std::string host = resolved.host_type() == urls::host_type::name ? std::string(resolved.host())
                                                                   : std::string(resolved.encoded_host());
  redirect_target out;
  out.url = make_ws_url(tls, host, port, target, "");
  out.same_origin = out.url.tls == from.tls && out.url.host == from.host && out.url.port == from.port;
  if (out.same_origin) out.url.basic_auth = from.basic_auth;
  return out;
}

}  // namespace rws
