#include "transport/transport.hpp"

#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "transport/tls_engine.hpp"
#include "transport/tls_session_cache.hpp"

namespace rws {
namespace {

// The sessions servers issued, for resumption (tls_session_cache.hpp): one cache per SSL_CTX, in
// its ex_data, dying with it.
void free_session_cache(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<tls_session_cache*>(ptr);
}

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_session_cache);
  return index;
}

int session_key_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

tls_session_cache* cache_of(SSL_CTX* ctx) { return static_cast<tls_session_cache*>(SSL_CTX_get_ex_data(ctx, cache_index())); }

// OpenSSL hands over each new session here (after the handshake for TLS 1.3). A copy is kept, not
// the session itself: when a connection ends without a TLS shutdown — a dropped connection,
// exactly when resumption matters — OpenSSL marks that connection's session not resumable, and
// the copy is not touched by that.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache = cache_of(SSL_get_SSL_CTX(ssl));
  auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, session_key_index()));
  if (!cache || !key) return 0;
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) cache->keep(*key, copy);
  return 0;  // OpenSSL keeps (and frees) the original
}

// Connecting left the socket's epoll registration interested in writability for good, so every
// ACK, and every wait for readability Asio re-arms, also reported "writable": a wasted wake-up of
// the io thread, and for the peer that acks, a wake-up call in its send (bench echo: about one per
// round trip). Registered anew, with nothing pending, it asks for readability only, until a write
// has to wait for room. (Plain TCP leaves Asio's reactor at open instead: tcp_transport.cpp.)
error_code register_for_reading(io_socket& socket) {
  error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return ec;
  const auto fd = socket.release(ec);
  if (ec) return ec;
  socket.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return ec;
}

// TLS on our own engine (tls_engine.hpp: no buffers kept while idle), over the same socket the
// connect race (and a proxy's CONNECT) used.
class tls_transport final : public transport {
 public:
  tls_transport(asio::io_context& io, asio::ssl::context& context, const std::string& host, const std::string& port,
                const tls_config& tls)
      : engine_(std::make_shared<tls_engine>(io, context.native_handle())) {
    const std::string& peer_name = tls.servername.empty() ? host : tls.servername;
    // With the port: two services on one host (and one shared context) would otherwise keep
    // replacing each other's session, and neither would resume.
    session_key_ = peer_name + ":" + port;
    SSL* ssl = engine_->ssl();
    if (!ssl) {
      setup_failure_ = "cannot allocate a TLS connection";
      return;
    }
    setup_failure_ = configure_peer_name(ssl, peer_name, tls.reject_unauthorized);
    // Offer a session this server gave us, and collect the next ones under the same key.
    SSL_set_ex_data(ssl, session_key_index(), &session_key_);
    if (auto* cache = cache_of(SSL_get_SSL_CTX(ssl))) {
      if (SSL_SESSION* offer = cache->take(session_key_)) {
        SSL_set_session(ssl, offer);
        SSL_SESSION_free(offer);
      }
    }
  }
  io_socket& socket() override { return engine_->socket(); }
  void async_secure(done_handler handler) override {
    if (!setup_failure_.empty()) {
      // Fail closed: without SNI or the name to verify, the handshake would "succeed" against
      // any certificate the CA signed. verify_failure() says why.
      asio::post(engine_->socket().get_executor(), [h = std::move(handler)] { h(asio::error::invalid_argument); });
      return;
    }
    engine_->async_handshake(std::move(handler));
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler handler) override {
    engine_->async_read_some(buffer, std::move(handler));
  }
  void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) override {
    engine_->async_write(buffers, std::move(handler));
  }
  // The engine drains OpenSSL whenever it reads, so readability of the socket is all there is to
  // wait for (it says so itself when OpenSSL still holds bytes).
  bool reads_on_readiness() const override { return true; }
  void async_wait_readable(done_handler handler) override { engine_->async_wait_readable(std::move(handler)); }
  std::size_t read_now(asio::mutable_buffer buffer, error_code& ec) override { return engine_->read_now(buffer, ec); }
  error_code opened() override { return engine_->writing() ? error_code() : register_for_reading(engine_->socket()); }
  // Each buffer becomes a TLS record of its own: the connection joins a frame's parts first.
  bool gathers_writes() const override { return false; }
  void close() override { engine_->close(); }
  std::string verify_failure() const override {
    if (!setup_failure_.empty()) return setup_failure_;
    long result = SSL_get_verify_result(engine_->ssl());
    if (result == X509_V_OK) return {};
    return X509_verify_cert_error_string(result);
  }

 private:
  std::shared_ptr<tls_engine> engine_;  // shared with its own pending steps, which hold it weakly
  std::string session_key_;    // SNI / verification name and port: the session cache's key
  std::string setup_failure_;  // why SNI or name verification could not be set up; empty when fine
};

}  // namespace

std::string configure_peer_name(SSL* ssl, const std::string& name, bool verify) {
  // OpenSSL takes C strings here (or stops at a NUL when given a length): a name with an embedded
  // NUL would be verified as its prefix, or not at all. Such a name is refused outright.
  if (name.empty() || name.find('\0') != std::string::npos) return "invalid TLS server name";
  error_code not_ip;
  asio::ip::make_address(name, not_ip);
  // SNI is for names only (RFC 6066 forbids IP literals); verification covers both. Every call
  // below can fail (allocation, a name OpenSSL rejects); a failure must end the attempt, because
  // carrying on would silently skip SNI or, worse, hostname verification.
  if (not_ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return "cannot set SNI to '" + name + "'";
  if (!verify) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (not_ip) {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) != 1)
      return "cannot verify the server name '" + name + "'";
  } else if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
    return "cannot verify the server address '" + name + "'";
  }
  return {};
}

std::shared_ptr<X509_STORE> make_trust_store(std::string_view pem_bundle, bool openssl_default_paths,
                                             std::string& error) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (!store) {
    error = "cannot allocate the default trust store";
    return nullptr;
  }
  if (!pem_bundle.empty()) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem_bundle.data(), static_cast<int>(pem_bundle.size())),
                                                  BIO_free);
    while (bio) {
      X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (!cert) break;  // end of the bundle (or a damaged tail: what was read is kept)
      X509_STORE_add_cert(store.get(), cert);  // a duplicate is refused, and harmless
      X509_free(cert);
    }
  }
  if (openssl_default_paths) X509_STORE_set_default_paths(store.get());
  ERR_clear_error();  // the end-of-bundle "no start line" must not leak into later TLS errors
  // An empty store is Node's choice too (e.g. --use-openssl-ca with no certificates installed):
  // connections then fail verification with ERR_TLS_VERIFY, exactly as https would.
  return store;
}

std::shared_ptr<asio::ssl::context> make_tls_context(const tls_config& tls, std::string& error,
                                                     std::shared_ptr<X509_STORE> default_store) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  if (tls.reject_unauthorized) {
    context->set_verify_mode(asio::ssl::verify_peer);
    if (tls.ca.empty() && default_store) {
      // The context takes one reference; the store stays shared with the environment's others.
      X509_STORE_up_ref(default_store.get());
      SSL_CTX_set_cert_store(context->native_handle(), default_store.get());
    } else if (tls.ca.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->add_certificate_authority(asio::buffer(tls.ca), ec);
      if (ec) {
        error = "tls.ca is not a usable PEM certificate: " + ec.message();
        return nullptr;
      }
    }
  } else {
    context->set_verify_mode(asio::ssl::verify_none);
  }
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_set_ex_data(ctx, cache_index(), new tls_session_cache);
  if (!tls.passphrase.empty()) {
    context->set_password_callback([p = tls.passphrase](std::size_t, asio::ssl::context::password_purpose) { return p; });
  }
  if (!tls.cert.empty()) {
    context->use_certificate_chain(asio::buffer(tls.cert), ec);
    if (ec) {
      error = "tls.cert is not a usable PEM certificate chain: " + ec.message();
      return nullptr;
    }
  }
  if (!tls.key.empty()) {
    context->use_private_key(asio::buffer(tls.key), asio::ssl::context::pem, ec);
    if (ec) {
      error = "tls.key is not a usable PEM private key (or tls.passphrase is wrong): " + ec.message();
      return nullptr;
    }
  }
  return context;
}

std::unique_ptr<transport> make_tls_transport(asio::io_context& io, asio::ssl::context& context,
                                              const std::string& host, const std::string& port,
                                              const tls_config& tls) {
  return std::make_unique<tls_transport>(io, context, host, port, tls);
}

}  // namespace rws
