// followRedirects: which Location answers are followed, where they lead, and what credentials
// go along.
#include <gtest/gtest.h>

#include "protocol/redirect.hpp"

namespace rws {
namespace {

ws_url secure_with_credentials() { return make_ws_url(true, "api.example.com", 0, "/feed?x=1", "dTpw"); }

TEST(Redirect, RelativeAndAbsoluteLocations) {
  std::string error;
  auto from = secure_with_credentials();
  auto same = resolve_redirect(from, "/v2/feed?y=2", error);
  ASSERT_TRUE(same) << error;
  EXPECT_EQ(same->url.host, "api.example.com");
  EXPECT_EQ(same->url.target, "/v2/feed?y=2");
  EXPECT_TRUE(same->url.tls);
  EXPECT_TRUE(same->same_origin);
  EXPECT_EQ(same->url.basic_auth, "dTpw");  // same origin: the URL's credentials go along

  auto sibling = resolve_redirect(from, "other", error);
  ASSERT_TRUE(sibling);
  EXPECT_EQ(sibling->url.target, "/other");

  auto elsewhere = resolve_redirect(from, "https://eu.example.com:8443/feed", error);
  ASSERT_TRUE(elsewhere) << error;
  EXPECT_TRUE(elsewhere->url.tls);  // https: maps to wss:
  EXPECT_EQ(elsewhere->url.host, "eu.example.com");
  EXPECT_EQ(elsewhere->url.port, "8443");
  EXPECT_EQ(elsewhere->url.host_header, "eu.example.com:8443");
  EXPECT_FALSE(elsewhere->same_origin);
  EXPECT_EQ(elsewhere->url.basic_auth, "");  // another origin: credentials dropped
  EXPECT_EQ(elsewhere->url.display, "wss://eu.example.com:8443/feed");
}

TEST(Redirect, UpgradeToWssIsFollowedDowngradeIsNot) {
  std::string error;
  auto plain = make_ws_url(false, "example.com", 0, "/", "");
  auto up = resolve_redirect(plain, "wss://example.com/", error);
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->url.tls);
  EXPECT_FALSE(up->same_origin);  // another scheme is another origin
  EXPECT_FALSE(resolve_redirect(secure_with_credentials(), "ws://api.example.com/feed", error));
  EXPECT_NE(error.find("down"), std::string::npos);
  EXPECT_FALSE(resolve_redirect(secure_with_credentials(), "http://api.example.com/feed", error));
}

TEST(Redirect, UnusableLocationsAreRefused) {
  std::string error;
  auto from = secure_with_credentials();
  EXPECT_FALSE(resolve_redirect(from, "ftp://example.com/", error));
  EXPECT_FALSE(resolve_redirect(from, "https://exa mple.com/", error));
  EXPECT_FALSE(resolve_redirect(from, "https://[::1/", error));
}

TEST(Redirect, LocationCredentialsAreNeverUsedAndIpv6Works) {
  std::string error;
  auto from = make_ws_url(false, "127.0.0.1", 9000, "/", "");
  auto r = resolve_redirect(from, "ws://mallory:pw@[::1]:9001/x", error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->url.host, "::1");
  EXPECT_EQ(r->url.host_header, "[::1]:9001");
  EXPECT_EQ(r->url.basic_auth, "");
}

}  // namespace
}  // namespace rws
