// Which session a connection offers: one no other connection offered while the server has left
// more than one, the newest as often as needed once it is the last; never an expired or
// unresumable one; never another server's; and the cache stays bounded.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <ctime>
#include <string>

#include "transport/tls_session_cache.hpp"

namespace rws {
namespace {

// A resumable session issued at `issued` (seconds since the epoch), valid for an hour, whose id
// is `id` (how a test tells sessions apart).
SSL_SESSION* session(unsigned char id, long issued = static_cast<long>(std::time(nullptr))) {
  SSL_SESSION* s = SSL_SESSION_new();
  const unsigned char bytes[1] = {id};
  SSL_SESSION_set1_id(s, bytes, 1);
  SSL_SESSION_set_time(s, issued);
  SSL_SESSION_set_timeout(s, 3600);
  return s;
}

// The id of what take() offered (0: nothing), freeing it as the connection would.
int offered_id(tls_session_cache& cache, const std::string& server) {
  SSL_SESSION* s = cache.take(server);
  if (!s) return 0;
  unsigned int length = 0;
  const unsigned char* id = SSL_SESSION_get_id(s, &length);
  const int result = length == 1 ? id[0] : -1;
  SSL_SESSION_free(s);
  return result;
}

TEST(TlsSessionCache, EachSessionIsOfferedOnceUntilOnlyTheNewestIsLeft) {
  tls_session_cache cache;
  EXPECT_EQ(offered_id(cache, "a:443"), 0);
  for (unsigned char id = 1; id <= 3; ++id) cache.keep("a:443", session(id));
  EXPECT_EQ(offered_id(cache, "a:443"), 3);
  EXPECT_EQ(offered_id(cache, "a:443"), 2);
  // The last one serves everyone until the server issues more.
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
  cache.keep("a:443", session(4));
  EXPECT_EQ(offered_id(cache, "a:443"), 4);
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
}

TEST(TlsSessionCache, AServerIsItsNameAndPort) {
  tls_session_cache cache;
  cache.keep("a:443", session(1));
  EXPECT_EQ(offered_id(cache, "a:8443"), 0);
  EXPECT_EQ(offered_id(cache, "b:443"), 0);
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
}

TEST(TlsSessionCache, KeepsTheNewestFewPerServer) {
  tls_session_cache cache;
  for (unsigned char id = 1; id <= tls_session_cache::per_server + 2; ++id) cache.keep("a:443", session(id));
  for (int id = tls_session_cache::per_server + 2; id > 2; --id) EXPECT_EQ(offered_id(cache, "a:443"), id);
  EXPECT_EQ(offered_id(cache, "a:443"), 3);  // the last one left, offered again
}

TEST(TlsSessionCache, ExpiredAndUnresumableSessionsAreDroppedNotOffered) {
  tls_session_cache cache;
  const long now = static_cast<long>(std::time(nullptr));
  cache.keep("a:443", session(1));
  cache.keep("a:443", session(2, now - 7200));  // issued two hours ago, valid for one
  SSL_SESSION* unresumable = SSL_SESSION_new();  // no id, no ticket
  cache.keep("a:443", unresumable);
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
  EXPECT_EQ(offered_id(cache, "a:443"), 1);
  cache.keep("b:443", session(3, now - 7200));
  EXPECT_EQ(offered_id(cache, "b:443"), 0);
  EXPECT_EQ(cache.servers(), 1u);  // b had nothing left
}

TEST(TlsSessionCache, TheServerWhoseNewestSessionIsOldestGoesFirst) {
  tls_session_cache cache;
  const long now = static_cast<long>(std::time(nullptr));
  cache.keep("stale:443", session(1, now - 600));
  for (std::size_t i = 0; i < tls_session_cache::max_servers; ++i) {
    cache.keep("s" + std::to_string(i) + ":443", session(2, now - 60));
  }
  EXPECT_EQ(cache.servers(), tls_session_cache::max_servers);
  EXPECT_EQ(offered_id(cache, "stale:443"), 0);
  EXPECT_EQ(offered_id(cache, "s0:443"), 2);
}

}  // namespace
}  // namespace rws
