#pragma once
// The byte stream under one connection attempt: plain TCP or TLS over TCP. A small virtual
// interface keeps connection.cpp free of templates (one build of it serves ws:// and wss://);
// the virtual call costs nothing next to a syscall, and reads and writes are batched anyway.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transport/io_socket.hpp"
#include "transport/tls_config.hpp"

namespace rws {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;  // the I/O error type; ours is rws::failure_code

using io_handler = std::function<void(const error_code&, std::size_t)>;
using done_handler = std::function<void(const error_code&)>;

class transport {
 public:
  virtual ~transport() = default;
  virtual io_socket& socket() = 0;
  // TLS: the handshake with SNI and name verification. TCP: completes at once.
  virtual void async_secure(done_handler handler) = 0;
  virtual void async_read_some(asio::mutable_buffer buffer, io_handler handler) = 0;
  virtual void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) = 0;
  // Whether an open connection may read by waiting for readability and then reading without
  // blocking (async_wait_readable, read_now) into its io thread's shared buffer, instead of
  // keeping a buffer of its own inside a pending async_read_some. A transport that can hold bytes
  // the socket no longer signals (TLS) completes the wait at once while it does.
  virtual bool reads_on_readiness() const { return false; }
  // The WebSocket handshake is done and no operation is pending on the socket. An error means
  // the socket is unusable.
  virtual error_code opened() { return {}; }
  // The socket's descriptor when whole frames written to it directly reach the peer as they are
  // (plain TCP), for the JavaScript thread's direct writes (direct_lane.hpp); -1 otherwise.
  virtual int direct_write_fd() { return -1; }
  virtual void async_wait_readable(done_handler handler) {
    asio::post(socket().get_executor(), [h = std::move(handler)] { h(asio::error::operation_not_supported); });
  }
  // Reads what is there without blocking: would_block when nothing is.
  virtual std::size_t read_now(asio::mutable_buffer buffer, error_code& ec) {
    (void)buffer;
    ec = asio::error::operation_not_supported;
    return 0;
  }
  // Whether a write of several buffers costs about what one contiguous buffer does (one
  // sendmsg with an iovec each). Not for TLS: each buffer becomes a record of its own, so a frame
  // header alone would cost a record's overhead.
  virtual bool gathers_writes() const { return true; }
  // Bytes received and not read yet (the kernel's count).
  virtual std::size_t available(error_code& ec) { return socket().available(ec); }
  // The connection's own address and its peer's (the network watch asks which it uses).
  virtual tcp::endpoint local_endpoint(error_code& ec) { return socket().local_endpoint(ec); }
  virtual tcp::endpoint remote_endpoint(error_code& ec) { return socket().remote_endpoint(ec); }
  // Why the TLS handshake failed verification, or empty when it did not.
  virtual std::string verify_failure() const { return {}; }
  // Ends the stream now; pending operations complete with operation_aborted. Virtual so a
  // test's fake transport (native/tests/transport/fake_transport.hpp) can do the same.
  virtual void close() {
    error_code ignored;
    socket().shutdown(io_socket::shutdown_both, ignored);
    socket().close(ignored);
  }
};

// The default trust store (used when tls.ca is empty): Node's CAs as one PEM bundle, plus
// OpenSSL's default paths when `openssl_default_paths` (node --use-openssl-ca). Parsing ~150
// certificates costs milliseconds, so the binding builds it once per environment and every TLS
// context shares it. Returns nullptr and sets `error` only when OpenSSL cannot allocate it.
std::shared_ptr<X509_STORE> make_trust_store(std::string_view pem_bundle, bool openssl_default_paths,
                                             std::string& error);

// Builds a TLS context (CA, client certificate, verification mode); the binding shares one
// between the sockets with equal settings (tls_context_cache.hpp).
// `default_store` is trusted when tls.ca is empty; without one, OpenSSL's default paths are.
// Returns nullptr and sets `error` when the PEM material is unusable.
std::shared_ptr<asio::ssl::context> make_tls_context(const tls_config& tls, std::string& error,
                                                     std::shared_ptr<X509_STORE> default_store = nullptr);

// Sets SNI and the name (or address) the certificate must match on `ssl`. Returns why that was
// impossible, or an empty string; the caller must then not handshake (fail closed).
std::string configure_peer_name(SSL* ssl, const std::string& name, bool verify);

// Plain TCP: Asio's socket until open, then the io thread's fd_reactor (tcp_transport.cpp).
std::unique_ptr<transport> make_tcp_transport(asio::io_context& io);
std::unique_ptr<transport> make_tls_transport(asio::io_context& io, asio::ssl::context& context,
                                              const std::string& host, const std::string& port,
                                              const tls_config& tls);

}  // namespace rws
