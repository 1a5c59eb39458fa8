// Fuzzes what becomes of URL parts on their way to the wire: rws::make_ws_url (parts as the
// binding gets them from JavaScript's WHATWG URL), make_upgrade_request and make_connect_request
// (which must refuse anything that would break the request head), with_query_param (resume via
// query) and resolve_redirect (a Location header from the server).
// Input: a flag byte (bit 0: wss), a u16 port, then NUL-separated fields: host, target, a header
// name, its value, a subprotocol, a Location, the URL's basic-auth token.
// Invariants: a request either is refused with an error text or is one head — CRLF-separated
// lines, no bare CR or LF, no NUL, exactly one blank line at its very end; a redirect never goes
// from wss:// to ws://, never keeps credentials across origins, and its display text carries
// neither user info nor a query.
#include <string>
#include <tuple>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "protocol/handshake.hpp"
#include "protocol/redirect.hpp"
#include "protocol/url.hpp"

namespace {

void check_head(std::string_view head) {
  FUZZ_CHECK(head.find('\0') == std::string_view::npos, "a NUL in the request head");
  FUZZ_CHECK(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n", "the head does not end with a blank line");
  FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4, "a blank line inside the head (an injected second request)");
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n') FUZZ_CHECK(i > 0 && head[i - 1] == '\r', "a bare LF in the head");
    if (head[i] == '\r') FUZZ_CHECK(i + 1 < head.size() && head[i + 1] == '\n', "a bare CR in the head");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  const bool tls = in.u8() & 1;
  const std::uint16_t port = in.u16();
  std::vector<std::string> field;
  std::string_view rest = in.rest();
  for (int i = 0; i < 7; ++i) {
    const auto nul = rest.find('\0');
    field.emplace_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  const auto& [host, target, name, value, protocol, location, basic_auth] =
      std::tie(field[0], field[1], field[2], field[3], field[4], field[5], field[6]);

  const rws::ws_url url = rws::make_ws_url(tls, host, port, target, basic_auth);
  FUZZ_CHECK(url.display.find('?') == std::string::npos || url.display.find('?') > url.host_header.size() + 6,
             "the default display text carries the query");
  std::string error;
  const auto request = rws::make_upgrade_request(url, url.target, {{name, value}}, {protocol}, "", error);
  if (request) {
    check_head(request->text);
  } else {
    FUZZ_CHECK(!error.empty(), "a refused request without an error text");
  }
  const auto connect = rws::make_connect_request(url.host_header, value, error);
  if (connect) check_head(*connect);

  // with_query_param percent-encodes the value: it must not add a raw CR, LF or space the target
  // did not already hold (the request builder refuses those in the target itself).
  const std::string with = rws::with_query_param(url.target, "after", location);
  for (const char c : {'\r', '\n', ' '}) {
    FUZZ_CHECK(url.target.find(c) != std::string::npos || with.find(c) == std::string::npos,
               "with_query_param added a raw CR, LF or space to the target");
  }

  const auto redirect = rws::resolve_redirect(url, location, error);
  if (!redirect) {
    FUZZ_CHECK(!error.empty(), "a refused redirect without an error text");
    return 0;
  }
  FUZZ_CHECK(!url.tls || redirect->url.tls, "a redirect from wss:// down to ws://");
  FUZZ_CHECK(redirect->same_origin || redirect->url.basic_auth.empty(), "credentials carried to another origin");
  const std::string& shown = redirect->url.display;
  FUZZ_CHECK(shown.find('@') == std::string::npos || redirect->url.host.find('@') != std::string::npos,
             "user info in a redirect's display text");
  FUZZ_CHECK(shown.find('?') == std::string::npos, "a query in a redirect's display text");
  const auto followed = rws::make_upgrade_request(redirect->url, redirect->url.target, {}, {}, "", error);
  if (followed) check_head(followed->text);
  return 0;
}
