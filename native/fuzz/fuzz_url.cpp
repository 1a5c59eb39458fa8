// Fuzzes rws::parse_ws_url (protocol/url.hpp) and the upgrade request built from its result.
// The call is isolated in parse_url_under_test(): when URL parts come from JavaScript (branch
// `protocol`) and parse_ws_url goes away, this harness goes with it.
// Input: the URL text, as the core gets it from lib/options.js (a WHATWG `URL.href`), so inputs
// with bytes `new URL()` never leaves in an href (controls, space, DEL) are skipped.
// Invariants: success has a host, a port 1..65535, a target starting with '/', and credentials
// only in basic_auth (never in display or the Host header); failure has an error text; the
// request built from a parsed URL has no line breaks inside a line.
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "protocol/handshake.hpp"
#include "protocol/url.hpp"

namespace {

std::optional<rws::ws_url> parse_url_under_test(std::string_view text, std::string& error) {
  return rws::parse_ws_url(text, error);
}

bool all_digits(std::string_view s) {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F) return 0;
  }
  std::string error;
  const auto url = parse_url_under_test(text, error);
  (void)rws::redact_credentials(text);
  if (!url) {
    FUZZ_CHECK(!error.empty(), "a refused URL without an error text");
    return 0;
  }
  FUZZ_CHECK(!url->host.empty(), "a parsed URL without a host");
  FUZZ_CHECK(all_digits(url->port) && url->port.size() <= 5 && std::stoul(url->port) >= 1 &&
                 std::stoul(url->port) <= 65535,
             "a parsed URL with a port outside 1..65535");
  FUZZ_CHECK(!url->target.empty() && url->target.front() == '/', "a target that does not start with '/'");
  FUZZ_CHECK(url->host_header.find('@') == std::string::npos, "credentials in the Host header");
  const std::string scheme = url->tls ? "wss://" : "ws://";
  FUZZ_CHECK(url->display.compare(0, scheme.size() + url->host_header.size(), scheme + url->host_header) == 0,
             "display does not start with the scheme and Host header (credentials could be in it)");

  const rws::upgrade_request request = rws::make_upgrade_request(*url, url->target, {}, {"chat"}, "");
  std::string_view rest = request.text;
  FUZZ_CHECK(rest.size() >= 4 && rest.substr(rest.size() - 4) == "\r\n\r\n", "the request does not end with a blank line");
  rest.remove_suffix(4);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\r' || rest[i] == '\n') {
      FUZZ_CHECK(rest[i] == '\r' && i + 1 < rest.size() && rest[i + 1] == '\n', "a bare CR or LF in the request");
      FUZZ_CHECK(i + 2 < rest.size() && rest[i + 2] != '\r', "an empty line inside the request headers");
      ++i;
    }
  }
  const std::string with = rws::with_query_param(url->target, "after", text);
  FUZZ_CHECK(!with.empty() && with.front() == '/', "with_query_param lost the leading '/'");
  return 0;
}
