// SNI and hostname verification must be set up or the attempt must not handshake at all: a
// failure that is ignored turns "verify this host" into "accept any certificate the CA signed".
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>

#include "transport/transport.hpp"

namespace rws {
namespace {

struct ssl_handle {
  ssl_handle() : ctx(SSL_CTX_new(TLS_client_method())), ssl(SSL_new(ctx)) {}
  ~ssl_handle() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  SSL_CTX* ctx;
  SSL* ssl;
};

TEST(TlsPeerName, HostNameSetsSniAndVerification) {
  ssl_handle h;
  EXPECT_EQ(configure_peer_name(h.ssl, "example.com", true), "");
  EXPECT_STREQ(SSL_get_servername(h.ssl, TLSEXT_NAMETYPE_host_name), "example.com");
  EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(h.ssl), 0), "example.com");
}

TEST(TlsPeerName, IpLiteralGetsAddressVerificationAndNoSni) {
  ssl_handle h;
  EXPECT_EQ(configure_peer_name(h.ssl, "127.0.0.1", true), "");
  EXPECT_EQ(SSL_get_servername(h.ssl, TLSEXT_NAMETYPE_host_name), nullptr);
  EXPECT_EQ(configure_peer_name(h.ssl, "::1", true), "");
}

TEST(TlsPeerName, EmbeddedNulIsRefusedNotTruncated) {
  ssl_handle h;
  using namespace std::string_literals;
  EXPECT_NE(configure_peer_name(h.ssl, "good.example\0evil.example"s, true), "");
  EXPECT_NE(configure_peer_name(h.ssl, "", true), "");
}

TEST(TlsPeerName, NameOpenSslRefusesFailsClosed) {
  ssl_handle h;
  // Longer than any DNS name: SSL_set_tlsext_host_name refuses names over 255 bytes.
  EXPECT_NE(configure_peer_name(h.ssl, std::string(300, 'a'), true), "");
}

TEST(TlsPeerName, TransportWithUnusableNameNeverHandshakes) {
  boost::asio::io_context io;
  boost::asio::ssl::context context(boost::asio::ssl::context::tls_client);
  tls_config tls;
  using namespace std::string_literals;
  tls.servername = "good.example\0evil.example"s;
  auto t = make_tls_transport(io, context, "good.example", "443", tls);
  bool called = false;
  error_code result;
  t->async_secure([&](const error_code& ec) {
    called = true;
    result = ec;
  });
  io.run();
  ASSERT_TRUE(called);
  EXPECT_TRUE(result);
  // The connection reports a non-empty verify_failure() as terminal ERR_TLS_VERIFY.
  EXPECT_NE(t->verify_failure(), "");
}

}  // namespace
}  // namespace rws
