// Fuzzes the HTTP upgrade response from the server (protocol/handshake.hpp):
//   rws::parse_upgrade_response(std::string_view, upgrade_response&, std::string&)
// and what the connection does with a parsed response: check_upgrade, parse_retry_after on the
// Retry-After header, parse_deflate_response on Sec-WebSocket-Extensions.
// The parser call is isolated in parse_response_under_test() so a replacement parser (Beast's
// http::response_parser, branch `protocol`) changes only that function.
// Input: the bytes the server sent, fed the way the connection does (everything received so
// far, each time more arrives), in pieces of 1 + (first byte % 64) bytes.
// Invariants: once complete, header_bytes lies within what was received and re-parsing the same
// bytes gives the same result; a malformed answer carries an error text; bounded retry delay.
#include <algorithm>
#include <chrono>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "protocol/handshake.hpp"
#include "protocol/permessage_deflate.hpp"

namespace {

// The one call into the parser under test. Returns the status and fills `response`.
rws::parse_status parse_response_under_test(std::string_view received, rws::upgrade_response& response,
                                            std::string& error) {
  return rws::parse_upgrade_response(received, response, error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  const std::size_t piece = 1 + in.u8() % 64;
  const std::string_view bytes = in.rest();

  rws::upgrade_response response;
  std::string error;
  rws::parse_status status = rws::parse_status::incomplete;
  std::size_t received = 0;
  while (status == rws::parse_status::incomplete && received < bytes.size()) {
    received = std::min(bytes.size(), received + piece);
    error.clear();
    status = parse_response_under_test(bytes.substr(0, received), response, error);
  }
  if (status == rws::parse_status::malformed) {
    FUZZ_CHECK(!error.empty(), "a malformed response without an error text");
    return 0;
  }
  if (status != rws::parse_status::complete) return 0;

  FUZZ_CHECK(response.header_bytes > 0 && response.header_bytes <= received, "header_bytes outside what was received");
  {
    rws::upgrade_response again;
    std::string again_error;
    FUZZ_CHECK(parse_response_under_test(bytes.substr(0, received), again, again_error) == rws::parse_status::complete,
               "re-parsing a complete response gave another status");
    FUZZ_CHECK(again.status == response.status && again.headers == response.headers &&
                   again.header_bytes == response.header_bytes,
               "re-parsing a complete response gave another result");
  }
  FUZZ_CHECK(response.status >= 0 && response.status <= 999, "status outside three digits");

  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  (void)rws::check_upgrade(response, key, {"chat", "superchat"}, true);
  (void)rws::check_upgrade(response, key, {}, false);

  const std::string retry_after = response.header("Retry-After");
  if (!retry_after.empty()) {
    // A fixed "now" keeps runs reproducible; both ends of the clock's range are tried.
    using clock = std::chrono::system_clock;
    for (const clock::time_point now : {clock::time_point{}, clock::from_time_t(1767225600)}) {
      const std::int64_t ms = rws::parse_retry_after(retry_after, now);
      FUZZ_CHECK(ms >= -1 && ms <= 10 * 60 * 1000, "Retry-After outside -1 .. 10 minutes");
    }
  }
  const std::string extensions = response.header("Sec-WebSocket-Extensions");
  if (!extensions.empty()) {
    std::string ext_error;
    const auto params = rws::parse_deflate_response(extensions, ext_error);
    if (params) {
      FUZZ_CHECK(params->server_max_window_bits >= 8 && params->server_max_window_bits <= 15 &&
                     params->client_max_window_bits >= 8 && params->client_max_window_bits <= 15,
                 "a window size outside 8..15 was accepted");
    } else {
      FUZZ_CHECK(!ext_error.empty(), "a refused extension answer without an error text");
    }
  }
  return 0;
}
