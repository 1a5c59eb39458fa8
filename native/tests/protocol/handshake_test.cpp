#include "protocol/handshake.hpp"

#include <gtest/gtest.h>

#include "protocol/url.hpp"

namespace rws {
namespace {

TEST(Handshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// The parts come from lib/options.js (WHATWG URL); basic_auth is base64("user:p@ss").
ws_url example_url() { return make_ws_url(false, "example.com", 8080, "/feed?x=1", "dXNlcjpwQHNz"); }

upgrade_request request_ok(const ws_url& url, std::string_view target, const header_list& headers,
                           const std::vector<std::string>& protocols, std::string_view extensions) {
  std::string error;
  auto request = make_upgrade_request(url, target, headers, protocols, extensions, error);
  EXPECT_TRUE(request) << error;
  return request ? *request : upgrade_request{};
}

TEST(Handshake, RequestCarriesHeadersProtocolsAndCredentials) {
  auto url = example_url();
  auto request = request_ok(url, url.target, {{"X-Token", "abc"}}, {"chat", "v2"}, "permessage-deflate");
  EXPECT_EQ(request.text.rfind("GET /feed?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n", 0), 0u) << request.text;
  EXPECT_NE(request.text.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("\r\nSec-WebSocket-Key: " + request.key + "\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("Sec-WebSocket-Protocol: chat, v2\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("Sec-WebSocket-Extensions: permessage-deflate\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("X-Token: abc\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("Authorization: Basic dXNlcjpwQHNz\r\n"), std::string::npos);
  EXPECT_EQ(request.text.substr(request.text.size() - 4), "\r\n\r\n");
  EXPECT_EQ(request.text.find("\r\n\r\n"), request.text.size() - 4);  // one head, nothing after it
  EXPECT_EQ(request.key.size(), 24u);
  EXPECT_EQ(url.display, "ws://example.com:8080/feed");  // no credentials, no query (it may carry tokens)
}

TEST(Handshake, KeysAreFreshBase64Of16RandomBytes) {
  auto url = example_url();
  auto a = request_ok(url, "/", {}, {}, "");
  auto b = request_ok(url, "/", {}, {}, "");
  EXPECT_NE(a.key, b.key);
  EXPECT_EQ(a.key.size(), 24u);
  EXPECT_EQ(a.key.substr(22), "==");  // 16 bytes -> 22 characters + padding
}

TEST(Handshake, AnExplicitAuthorizationHeaderWinsOverUrlCredentials) {
  auto url = example_url();
  auto request = request_ok(url, url.target, {{"authorization", "Bearer t"}}, {}, "");
  EXPECT_EQ(request.text.find("Basic "), std::string::npos);
  EXPECT_NE(request.text.find("authorization: Bearer t\r\n"), std::string::npos);
}

// Pins issue 8 item 12: the request builder used to paste host, target, header names and values
// and subprotocols into the request as given, so `ws://host/a b\r\nX: y` (or a header value with
// CR LF) wrote request lines of its own. lib/ validates first, but the core must not rely on it:
// every such field is refused with an error naming it, never sanitised silently.
TEST(Handshake, RequestRefusesFieldsThatWouldBreakTheHead) {
  const auto url = example_url();
  auto refused = [&](const ws_url& u, std::string_view target, const header_list& headers,
                     const std::vector<std::string>& protocols, std::string_view extensions, std::string_view names) {
    std::string error;
    auto request = make_upgrade_request(u, target, headers, protocols, extensions, error);
    EXPECT_FALSE(request) << "sent: " << (request ? request->text : "");
    EXPECT_NE(error.find(names), std::string::npos) << error;
  };
  // Target: spaces, CR/LF, NUL, other controls, not origin-form.
  refused(url, "/a b\r\nX: y", {}, {}, "", "request target");
  refused(url, "/a\r\nX: y", {}, {}, "", "request target");
  refused(url, std::string_view("/a\0b", 4), {}, {}, "", "request target");
  refused(url, "/a\tb", {}, {}, "", "request target");
  refused(url, "/a\x7f", {}, {}, "", "request target");
  refused(url, "", {}, {}, "", "request target");
  refused(url, "a", {}, {}, "", "request target");
  // Host: the same.
  refused(make_ws_url(false, "evil\r\nX: y", 0, "/", ""), "/", {}, {}, "", "host");
  refused(make_ws_url(false, "ev il", 0, "/", ""), "/", {}, {}, "", "host");
  refused(make_ws_url(false, std::string_view("a\0b", 3), 0, "/", ""), "/", {}, {}, "", "host");
  refused(make_ws_url(false, "", 0, "/", ""), "/", {}, {}, "", "host");
  // Header names must be tokens; values must not end or cut the line.
  refused(url, "/", {{"X-Ok\r\nX-Evil", "v"}}, {}, "", "header name");
  refused(url, "/", {{"X Space", "v"}}, {}, "", "header name");
  refused(url, "/", {{"X-Colon:", "v"}}, {}, "", "header name");
  refused(url, "/", {{"", "v"}}, {}, "", "header name");
  refused(url, "/", {{"X-Token", "a\r\nX-Evil: 1"}}, {}, "", "value of header 'X-Token'");
  refused(url, "/", {{"X-Token", "a\nb"}}, {}, "", "value of header");
  refused(url, "/", {{"X-Token", "a\rb"}}, {}, "", "value of header");
  refused(url, "/", {{"X-Token", std::string("a\0b", 3)}}, {}, "", "value of header");
  // Subprotocols are tokens; the extension offer is a header value.
  refused(url, "/", {}, {"chat\r\nX: y"}, "", "subprotocol");
  refused(url, "/", {}, {"two words"}, "", "subprotocol");
  refused(url, "/", {}, {""}, "", "subprotocol");
  refused(url, "/", {}, {}, "permessage-deflate\r\nX: y", "Sec-WebSocket-Extensions");
  // Credentials computed elsewhere still go through the same check.
  refused(make_ws_url(false, "h", 0, "/", "abc\r\nX: y"), "/", {}, {}, "", "credentials");

  // What is allowed stays allowed: tabs and non-ASCII bytes in values, percent-encoding in targets.
  request_ok(url, "/p%20q?x=%0D%0A", {{"X-Token", "a\tb \xc3\xa9"}}, {"chat.v1"}, "");
}

TEST(Handshake, ParsesResponseIncrementallyAndChecksIt) {
  std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x02hi";
  upgrade_response parsed;
  std::string error;
  EXPECT_EQ(parse_upgrade_response(response.substr(0, 40), parsed, error), parse_status::incomplete);
  ASSERT_EQ(parse_upgrade_response(response, parsed, error), parse_status::complete);
  EXPECT_EQ(parsed.status, 101);
  EXPECT_EQ(parsed.header_bytes, response.size() - 4);  // the frame after the headers is left over
  EXPECT_EQ(check_upgrade(parsed, key, {"chat"}, false), "");
  EXPECT_NE(check_upgrade(parsed, key, {"other"}, false), "");
  EXPECT_NE(check_upgrade(parsed, "AAAAAAAAAAAAAAAAAAAAAA==", {"chat"}, false), "");
}

TEST(Handshake, RejectsMalformedAndOversizedResponses) {
  upgrade_response parsed;
  std::string error;
  EXPECT_EQ(parse_upgrade_response("SSH-2.0-OpenSSH\r\n\r\n", parsed, error), parse_status::malformed);
  EXPECT_EQ(parse_upgrade_response("HTTP/1.1 101 OK\r\nno colon here\r\n\r\n", parsed, error), parse_status::malformed);
  EXPECT_EQ(parse_upgrade_response(std::string(20000, 'a'), parsed, error), parse_status::malformed);
  error.clear();
  EXPECT_EQ(parse_upgrade_response("HTTP/1.1 1x1 OK\r\n\r\n", parsed, error), parse_status::malformed);
  EXPECT_NE(error.find("status line"), std::string::npos) << error;
}

TEST(Handshake, UpgradeAndConnectionAreTokenLists) {
  upgrade_response parsed;
  std::string error;
  ASSERT_EQ(parse_upgrade_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo, WebSocket\r\n"
                                   "Connection: keep-alive, upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                                   parsed, error),
            parse_status::complete);
  EXPECT_EQ(check_upgrade(parsed, "dGhlIHNhbXBsZSBub25jZQ==", {}, false), "");
  parsed.headers[0].second = "websocketx";
  EXPECT_NE(check_upgrade(parsed, "dGhlIHNhbXBsZSBub25jZQ==", {}, false).find("Upgrade"), std::string::npos);
  parsed.headers[0].second = "websocket";
  parsed.headers[1].second = "close";
  EXPECT_NE(check_upgrade(parsed, "dGhlIHNhbXBsZSBub25jZQ==", {}, false).find("Connection"), std::string::npos);
  parsed.headers[1].second = "Upgrade";
  parsed.headers.emplace_back("Sec-WebSocket-Extensions", "permessage-deflate");
  EXPECT_NE(check_upgrade(parsed, "dGhlIHNhbXBsZSBub25jZQ==", {}, false).find("extensions"), std::string::npos);
  EXPECT_EQ(check_upgrade(parsed, "dGhlIHNhbXBsZSBub25jZQ==", {}, true), "");
}

TEST(Handshake, RejectionKeepsStatusReasonAndHeadersInOrder) {
  const std::string response =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After:  7 \r\nX-Why: busy\r\nx-why: again\r\n"
      "Content-Length: 4\r\n\r\nbody";
  upgrade_response parsed;
  std::string error;
  ASSERT_EQ(parse_upgrade_response(response, parsed, error), parse_status::complete) << error;
  EXPECT_EQ(parsed.status, 503);
  EXPECT_EQ(parsed.status_text, "Service Unavailable");
  EXPECT_EQ(parsed.header_bytes, response.size() - 4);  // the body is not part of the head
  const header_list expected{{"Retry-After", "7"}, {"X-Why", "busy"}, {"x-why", "again"}, {"Content-Length", "4"}};
  EXPECT_EQ(parsed.headers, expected);
  EXPECT_EQ(parsed.header("x-WHY"), "busy");  // case-insensitive, first match
  EXPECT_EQ(parsed.header("absent"), "");
  // The body is never read, so no size it announces makes the head malformed.
  ASSERT_EQ(parse_upgrade_response("HTTP/1.1 413 Too Large\r\nContent-Length: 99999999999\r\n\r\n", parsed, error),
            parse_status::complete)
      << error;
  EXPECT_EQ(parsed.status, 413);
}

TEST(Handshake, HalfAResponseIsIncompleteAtEveryLength) {
  const std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  for (std::size_t n = 0; n < response.size(); ++n) {
    upgrade_response parsed;
    std::string error;
    EXPECT_EQ(parse_upgrade_response(std::string_view(response).substr(0, n), parsed, error), parse_status::incomplete)
        << "after " << n << " bytes: " << error;
  }
}

TEST(Handshake, HeaderLimitIs16KiB) {
  const std::string status = "HTTP/1.1 101 Switching Protocols\r\n";
  auto head_of = [&](std::size_t total) {  // a complete head of exactly `total` bytes
    std::string filler(total - status.size() - 3 - 4, 'a');
    return status + "X: " + filler + "\r\n\r\n";
  };
  upgrade_response parsed;
  std::string error;
  const std::string at_limit = head_of(16 * 1024);
  ASSERT_EQ(at_limit.size(), 16u * 1024);
  EXPECT_EQ(parse_upgrade_response(at_limit + "\x81\x00", parsed, error), parse_status::complete) << error;
  EXPECT_EQ(parsed.header_bytes, at_limit.size());
  EXPECT_EQ(parse_upgrade_response(head_of(16 * 1024 + 1), parsed, error), parse_status::malformed);
  EXPECT_NE(error.find("16 KiB"), std::string::npos) << error;
  // An unfinished head that already fills the limit is refused without waiting for more.
  error.clear();
  EXPECT_EQ(parse_upgrade_response(status + "X: " + std::string(16 * 1024, 'a'), parsed, error),
            parse_status::malformed);
  EXPECT_NE(error.find("16 KiB"), std::string::npos) << error;
}

// Issue 8 item 9, through the whole path a non-101 answer takes: the reproducer's bytes parse,
// and their Retry-After (year 3988) is the 10-minute cap, not undefined behaviour.
TEST(Handshake, HostileRetryAfterDateFromTheWire) {
  const std::string hex =
      "485454502f312e312035303320580d0a52657472792d41667465723a2053756e2c203036204e6f7620333938382030"
      "383a34393a343720474d540d0a0d0a";
  std::string wire;
  for (std::size_t i = 0; i < hex.size(); i += 2) wire.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  upgrade_response parsed;
  std::string error;
  ASSERT_EQ(parse_upgrade_response(wire, parsed, error), parse_status::complete) << error;
  EXPECT_EQ(parsed.status, 503);
  EXPECT_EQ(parse_retry_after(parsed.header("retry-after"), std::chrono::system_clock::now()), 600000);
}

TEST(Handshake, RetryAfterSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("2", now), 2000);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
  EXPECT_EQ(parse_retry_after("99999999999", now), 600000);  // capped at 10 minutes
  EXPECT_EQ(parse_retry_after("soon", now), -1);
  EXPECT_EQ(parse_retry_after("", now), -1);
}

// Pins issue 8 item 9: an HTTP date far outside what system_clock can hold (its nanosecond
// count overflows around 1678 / 2262) was converted with from_time_t, which is undefined
// behaviour (UBSan: signed integer overflow) and in practice yielded a garbage delay. Any non-101
// answer reaches this. A date beyond the cap is the cap, a past date is 0, a nonsense year is
// ignored (treated as absent).
TEST(Handshake, RetryAfterDatesOutsideTheClockRangeAreClamped) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 3988 08:49:47 GMT", now), 600000);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 9999 08:49:47 GMT", now), 600000);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1000 08:49:47 GMT", now), 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1600 08:49:47 GMT", now), 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 0000 08:49:47 GMT", now), -1);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:36 GMT", now), 0);  // just past
}

// URL parts come from lib/options.js (WHATWG URL); make_ws_url only formats them.
TEST(Url, FormatsHostHeaderDisplayAndDefaults) {
  auto a = make_ws_url(true, "example.com", 0, "", "");
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.port, "443");
  EXPECT_EQ(a.target, "/");
  EXPECT_EQ(a.host_header, "example.com");
  EXPECT_EQ(a.display, "wss://example.com/");
  auto b = make_ws_url(false, "[::1]", 9000, "/x?y=1", "");  // WHATWG hostname keeps IPv6 brackets
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, "9000");
  EXPECT_EQ(b.host_header, "[::1]:9000");
  EXPECT_EQ(b.display, "ws://[::1]:9000/x");
  auto c = make_ws_url(false, "::1", 80, "/", "dTpw");  // explicit default port is left out
  EXPECT_EQ(c.host_header, "[::1]");
  EXPECT_EQ(c.port, "80");
  EXPECT_EQ(c.basic_auth, "dTpw");
  EXPECT_EQ(c.display, "ws://[::1]/");  // credentials never in the display text
}

TEST(Url, QueryParameterIsReplacedNotDuplicated) {
  EXPECT_EQ(with_query_param("/feed", "after", "41"), "/feed?after=41");
  EXPECT_EQ(with_query_param("/feed?x=1&after=3", "after", "a b"), "/feed?x=1&after=a%20b");
}

}  // namespace
}  // namespace rws

namespace rws {
namespace {

TEST(ProxyConnect, RequestNamesTheTunnelTargetAndCredentials) {
  std::string error;
  auto text = make_connect_request("example.com:443", "Basic dTpw", error);
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(text->substr(0, text->find("\r\n")), "CONNECT example.com:443 HTTP/1.1");
  EXPECT_NE(text->find("\r\nHost: example.com:443\r\n"), std::string::npos);
  EXPECT_NE(text->find("\r\nProxy-Authorization: Basic dTpw\r\n"), std::string::npos);
  EXPECT_EQ(text->find("\r\n\r\n"), text->size() - 4);  // one head, nothing after it
  auto v6 = make_connect_request("[::1]:8080", "", error);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->find("Proxy-Authorization"), std::string::npos);
}

TEST(ProxyConnect, RefusesWhatWouldBreakTheRequest) {
  std::string error;
  EXPECT_FALSE(make_connect_request("", "", error));
  EXPECT_FALSE(make_connect_request("a b:80", "", error));
  EXPECT_FALSE(make_connect_request("a\r\nX: y:80", "", error));
  EXPECT_FALSE(make_connect_request("a:80", "Basic x\r\nX-Injected: 1", error));
  EXPECT_NE(error.find("Proxy-Authorization"), std::string::npos);
}

TEST(ProxyConnect, TheProxyAnswerParsesLikeAnyResponseHead) {
  upgrade_response out;
  std::string error;
  std::string answer = "HTTP/1.1 200 Connection established\r\n\r\n";
  ASSERT_EQ(parse_upgrade_response(answer, out, error), parse_status::complete) << error;
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.header_bytes, answer.size());
  upgrade_response denied;
  ASSERT_EQ(parse_upgrade_response("HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
                                   "Content-Length: 5\r\n\r\nnope!",
                                   denied, error),
            parse_status::complete);
  EXPECT_EQ(denied.status, 407);
  EXPECT_EQ(denied.header("proxy-authenticate"), "Basic realm=\"p\"");
}

}  // namespace
}  // namespace rws
