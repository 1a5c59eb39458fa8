#pragma once
// TLS (client side) over a TCP socket, with OpenSSL driven through BIOs of our own. This replaces
// Asio's ssl::stream, whose engine keeps four 17 KiB buffers per connection for its whole life
// (its input and output buffers and a BIO pair): 70 KB of every idle wss:// socket, most of what
// one cost (114 KB, `ws` 86 KB). Here nothing is kept while a connection is idle:
//   - ciphertext is read from the socket into a buffer on the stack and handed to OpenSSL
//     through a BIO that reads from it in place; only bytes OpenSSL has not taken yet when the
//     caller's buffer is full are kept (in_leftover_);
//   - OpenSSL writes its records through a BIO that appends them to a string, which goes to the
//     socket in one write and is freed when large;
//   - SSL_MODE_RELEASE_BUFFERS, and reads only when the socket has bytes (reads_on_readiness),
//     let OpenSSL free its own record buffers between records.
// The io thread owns it; one write at a time (the connection's write queue), reads are
// synchronous (read_now) once the socket is readable. Internal steps hold the engine weakly: a
// connection that is gone completes nothing.
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transport/io_socket.hpp"

namespace rws {

class tls_engine : public std::enable_shared_from_this<tls_engine> {
 public:
  using error_code = boost::system::error_code;
  using tcp = boost::asio::ip::tcp;
  using done_handler = std::function<void(const error_code&)>;
  using io_handler = std::function<void(const error_code&, std::size_t)>;

  tls_engine(boost::asio::io_context& io, SSL_CTX* context);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  io_socket& socket() { return socket_; }
  // Null when OpenSSL could not allocate the connection (async_handshake then fails).
  SSL* ssl() { return ssl_; }

  // The client handshake; `handler` runs once it completed and what it sent was written.
  void async_handshake(done_handler handler);
  // Decrypts what is there without blocking. Fewer bytes than the buffer holds means the socket
  // and OpenSSL had no more; would_block when there was nothing at all. eof after the server's
  // close_notify, ssl::error::stream_truncated when the socket ended without one.
  std::size_t read_now(boost::asio::mutable_buffer buffer, error_code& ec);
  void async_wait_readable(done_handler handler);
  // read_now() once something is there (the upgrade's reads).
  void async_read_some(boost::asio::mutable_buffer buffer, io_handler handler);
  // Encrypts every buffer (one record each) and writes the records in one go; `handler` gets
  // the plaintext size. One write at a time.
  void async_write(const std::vector<boost::asio::const_buffer>& buffers, io_handler handler);
  // A write of ours is on its way to the socket.
  bool writing() const { return flushing_; }
  // Closes the socket; whatever waits completes as aborted.
  void close();

 private:
  // OpenSSL's view of our buffers (tls_engine.cpp): what the in-BIO reads, where the out-BIO
  // appends.
  friend struct tls_engine_bio;

  enum class decrypted : std::uint8_t { need_input, full, closed, failed };
  // SSL_read into out[got..cap) from `input` (what is left of it stays in `input`).
  decrypted decrypt(std::string_view& input, char* out, std::size_t cap, std::size_t& got, error_code& ec);
  error_code last_error(int ssl_result);
  void handshake_step();
  void handshake_done(const error_code& ec);
  void on_handshake_readable(const error_code& ec);
  void flush();
  void on_flushed(const error_code& ec, std::size_t n);

  io_socket socket_;
  SSL* ssl_ = nullptr;
  std::string_view in_view_;  // during an SSL call: the ciphertext OpenSSL may read
  std::string in_leftover_;   // ciphertext OpenSSL has not taken yet (usually empty)
  bool peer_closed_ = false;  // the server's close_notify was read
  error_code pending_error_;  // OpenSSL failed after decrypting bytes: reported by the next read
  std::string out_pending_;   // records written by OpenSSL, not yet handed to the socket
  std::string out_flight_;    // the socket write in flight
  bool flushing_ = false;
  error_code write_failed_;   // the socket refused a write: every later one fails the same way
  std::uint64_t out_queued_ = 0;  // record bytes ever appended to out_pending_
  std::uint64_t out_sent_ = 0;    // of them, written to the socket
  // The caller's write: complete once out_sent_ reaches write_until_.
  io_handler write_handler_;
  std::size_t write_plain_ = 0;
  std::uint64_t write_until_ = 0;
  done_handler handshake_handler_;
  bool handshake_flushing_ = false;  // the handshake's last records are on their way
};

}  // namespace rws
