#include "protocol/handshake.hpp"

#include <gtest/gtest.h>

#include "protocol/url.hpp"

namespace rws {
namespace {

TEST(Handshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, RequestCarriesHeadersProtocolsAndCredentials) {
  std::string error;
  auto url = parse_ws_url("ws://user:p%40ss@example.com:8080/feed?x=1", error);
  ASSERT_TRUE(url);
  auto request = make_upgrade_request(*url, url->target, {{"X-Token", "abc"}}, {"chat", "v2"}, "");
  EXPECT_EQ(request.text.rfind("GET /feed?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n", 0), 0u);
  EXPECT_NE(request.text.find("Sec-WebSocket-Protocol: chat, v2\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("X-Token: abc\r\n"), std::string::npos);
  EXPECT_NE(request.text.find("Authorization: Basic dXNlcjpwQHNz\r\n"), std::string::npos);
  EXPECT_EQ(request.key.size(), 24u);
  EXPECT_EQ(url->display, "ws://example.com:8080/feed?x=1");  // no credentials
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

TEST(Url, ParsesSchemesPortsAndIpv6) {
  std::string error;
  auto a = parse_ws_url("wss://example.com", error);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->target, "/");
  auto b = parse_ws_url("ws://[::1]:9000/x", error);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->host_header, "[::1]:9000");
  EXPECT_FALSE(parse_ws_url("http//nope", error));
  EXPECT_FALSE(parse_ws_url("ftp://x", error));
  EXPECT_FALSE(parse_ws_url("ws://host:99999/", error));
}

TEST(Url, CredentialsAreRedactedFromUrlsThatDidNotParse) {
  EXPECT_EQ(redact_credentials("ws://user:secret@host:0/x"), "ws://host:0/x");
  EXPECT_EQ(redact_credentials("ws://host/a@b"), "ws://host/a@b");
}

TEST(Url, QueryParameterIsReplacedNotDuplicated) {
  EXPECT_EQ(with_query_param("/feed", "after", "41"), "/feed?after=41");
  EXPECT_EQ(with_query_param("/feed?x=1&after=3", "after", "a b"), "/feed?x=1&after=a%20b");
}

}  // namespace
}  // namespace rws
