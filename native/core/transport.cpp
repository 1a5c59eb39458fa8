#include "core/transport.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>

namespace rws {
namespace {

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(asio::io_context& io) : socket_(io) {}
  tcp::socket& socket() override { return socket_; }
  void async_secure(done_handler handler) override {
    asio::post(socket_.get_executor(), [h = std::move(handler)] { h({}); });
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler handler) override {
    socket_.async_read_some(buffer, std::move(handler));
  }
  void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) override {
    asio::async_write(socket_, buffers, std::move(handler));
  }
  void async_finish(done_handler handler) override {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    asio::post(socket_.get_executor(), [h = std::move(handler), ec] { h(ec); });
  }

 private:
  tcp::socket socket_;
};

class tls_transport final : public transport {
 public:
  tls_transport(asio::io_context& io, asio::ssl::context& context, const std::string& host, const tls_config& tls)
      : stream_(io, context) {
    std::string name = tls.servername.empty() ? host : tls.servername;
    error_code ec;
    asio::ip::make_address(name, ec);  // ec set: a host name, not an IP literal
    SSL* ssl = stream_.native_handle();
    // SNI is for names only (RFC 6066 forbids IP literals); verification covers both.
    if (ec) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (tls.reject_unauthorized) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (ec) {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      } else {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      }
    }
  }
  tcp::socket& socket() override { return stream_.next_layer(); }
  void async_secure(done_handler handler) override {
    stream_.async_handshake(asio::ssl::stream_base::client, std::move(handler));
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler handler) override {
    stream_.async_read_some(buffer, std::move(handler));
  }
  void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) override {
    asio::async_write(stream_, buffers, std::move(handler));
  }
  void async_finish(done_handler handler) override { stream_.async_shutdown(std::move(handler)); }
  std::string verify_failure() const override {
    long result = SSL_get_verify_result(const_cast<asio::ssl::stream<tcp::socket>&>(stream_).native_handle());
    if (result == X509_V_OK) return {};
    return X509_verify_cert_error_string(result);
  }

 private:
  asio::ssl::stream<tcp::socket> stream_;
};

}  // namespace

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

std::unique_ptr<transport> make_tcp_transport(asio::io_context& io) { return std::make_unique<tcp_transport>(io); }

std::unique_ptr<transport> make_tls_transport(asio::io_context& io, asio::ssl::context& context,
                                              const std::string& host, const tls_config& tls) {
  return std::make_unique<tls_transport>(io, context, host, tls);
}

}  // namespace rws
