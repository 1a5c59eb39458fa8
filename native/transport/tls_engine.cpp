#include "transport/tls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <climits>
#include <utility>

#include "transport/exact_allocator.hpp"

namespace rws {

namespace asio = boost::asio;

namespace {

// Ciphertext read from the socket per recv: a full TLS record (16 KiB + overhead) fits.
constexpr std::size_t recv_chunk = 17 * 1024;
// Plaintext encrypted before its records are handed to the socket (four full records).
constexpr std::size_t encrypt_step = 64 * 1024;
// Buffers larger than this are freed once empty instead of kept for the next record: an idle
// connection keeps at most this much of them.
constexpr std::size_t keep_capacity = 2 * 1024;

void release_if_large(std::string& buffer) {
  buffer.clear();
  if (buffer.capacity() > keep_capacity) std::string().swap(buffer);
}

// SSL_free_buffers() before these releases could free the read buffer while a record header in
// it was still referenced, and read freed memory when the body came (CVE-2024-4741). The OpenSSL
// is Node's, whichever version that is: older ones keep their buffers instead.
bool free_buffers_is_safe() {
  static const bool safe = [] {
    const unsigned long v = OpenSSL_version_num();  // 0xMNN00PP0
    const unsigned long minor = (v >> 20) & 0xff, patch = (v >> 4) & 0xff;
    if ((v >> 28) != 3) return (v >> 28) > 3;
    switch (minor) {
      case 0: return patch >= 14;
      case 1: return patch >= 6;
      case 2: return patch >= 2;
      case 3: return patch >= 1;
      default: return true;
    }
  }();
  return safe;
}

}  // namespace

// The two BIOs OpenSSL reads and writes through. Their data pointer is the engine.
struct tls_engine_bio {
  static int read(BIO* bio, char* out, int size) {
    auto* engine = static_cast<tls_engine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (engine->in_view_.empty()) {
      BIO_set_retry_read(bio);  // not the end of the stream: more may come from the socket
      return -1;
    }
    const auto n = std::min(engine->in_view_.size(), static_cast<std::size_t>(std::max(size, 0)));
    std::copy_n(engine->in_view_.data(), n, out);
    engine->in_view_.remove_prefix(n);
    return static_cast<int>(n);
  }

  static int write(BIO* bio, const char* data, int size) {
    auto* engine = static_cast<tls_engine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    engine->out_pending_.append(data, static_cast<std::size_t>(size));
    engine->out_queued_ += static_cast<std::uint64_t>(size);
    return size;
  }

  static long ctrl(BIO* bio, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;  // records go to the socket when the engine flushes
      case BIO_CTRL_PENDING: {  // ciphertext waiting to be read (the in-BIO's only)
        auto* engine = static_cast<tls_engine*>(BIO_get_data(bio));
        if (!engine || !engine->ssl_ || SSL_get_rbio(engine->ssl_) != bio) return 0;
        return static_cast<long>(engine->in_view_.size());
      }
      default:
        return 0;
    }
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static BIO_METHOD* method() {
    // One method for both directions (a BIO is only ever read or only ever written by OpenSSL).
    static BIO_METHOD* const shared = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "resilient-ws tls");
      if (m) {
        BIO_meth_set_read(m, &tls_engine_bio::read);
        BIO_meth_set_write(m, &tls_engine_bio::write);
        BIO_meth_set_ctrl(m, &tls_engine_bio::ctrl);
        BIO_meth_set_create(m, &tls_engine_bio::create);
      }
      return m;
    }();
    return shared;
  }
};

tls_engine::tls_engine(asio::io_context& io, SSL_CTX* context) : socket_(io) {
  BIO_METHOD* method = tls_engine_bio::method();
  if (!method) return;
  ssl_ = SSL_new(context);
  if (!ssl_) return;
  BIO* in = BIO_new(method);
  BIO* out = BIO_new(method);
  if (!in || !out) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(in, this);
  BIO_set_data(out, this);
  SSL_set_bio(ssl_, in, out);  // the SSL owns both now
  SSL_set_connect_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  // A TLS 1.2 server's HelloRequest is refused (a warning alert; the server decides whether to go
  // on). Accepting it would make SSL_write ask for a read in the middle of a write.
  SSL_set_options(ssl_, SSL_OP_NO_RENEGOTIATION);
}

tls_engine::~tls_engine() {
  // Pending socket operations complete as aborted without touching the buffers below.
  error_code ignored;
  socket_.close(ignored);
  if (ssl_) SSL_free(ssl_);
}

tls_engine::error_code tls_engine::last_error(int ssl_result) {
  const int reason = SSL_get_error(ssl_, ssl_result);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
    // Only a renegotiation could ask for I/O in the middle of a write, and it is refused.
    ERR_clear_error();
    return asio::error::operation_not_supported;
  }
  if (reason == SSL_ERROR_SSL) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code != 0) return error_code(static_cast<int>(code), asio::error::get_ssl_category());
  }
  ERR_clear_error();
  // No OpenSSL reason (SSL_ERROR_SYSCALL: the in-BIO never fails, so the stream ended early).
  return asio::ssl::error::stream_truncated;
}

void tls_engine::async_handshake(done_handler handler) {
  if (!ssl_) {
    asio::post(socket_.get_executor(), [h = std::move(handler)] { h(asio::error::no_memory); });
    return;
  }
  handshake_handler_ = std::move(handler);
  handshake_step();
}

void tls_engine::handshake_step() {
  // Feed what an earlier read left, then let OpenSSL go as far as it can.
  std::string held = std::move(in_leftover_);
  in_leftover_.clear();
  in_view_ = held;
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  in_leftover_.assign(in_view_);
  in_view_ = {};
  if (result == 1) {
    // Done once what it wrote last (the Finished message) is on its way to the server.
    flush();
    if (write_failed_ || (!flushing_ && out_pending_.empty())) {
      handshake_done(write_failed_);
    } else {
      handshake_flushing_ = true;  // on_flushed finishes
    }
    return;
  }
  if (SSL_get_error(ssl_, result) != SSL_ERROR_WANT_READ) {
    const error_code failed = last_error(result);
    flush();  // the alert that tells the server why (a refused certificate: bad_certificate)
    handshake_done(failed);
    return;
  }
  flush();  // the ClientHello, or our part of the exchange so far
  if (write_failed_) {
    handshake_done(write_failed_);
    return;
  }
  socket_.async_wait(io_socket::wait_read, [weak = weak_from_this()](const error_code& ec) {
    if (auto self = weak.lock()) self->on_handshake_readable(ec);
  });
}

void tls_engine::on_handshake_readable(const error_code& ec) {
  if (!handshake_handler_) return;
  if (ec) {
    handshake_done(ec);
    return;
  }
  char chunk[recv_chunk];
  error_code read_error;
  if (!socket_.non_blocking()) socket_.non_blocking(true, read_error);
  std::size_t n = read_error ? 0 : socket_.read_some(asio::buffer(chunk), read_error);
  if (read_error == asio::error::would_block || read_error == asio::error::try_again) {
    socket_.async_wait(io_socket::wait_read, [weak = weak_from_this()](const error_code& e) {
      if (auto self = weak.lock()) self->on_handshake_readable(e);
    });
    return;
  }
  if (read_error) {
    handshake_done(read_error == asio::error::eof ? error_code(asio::ssl::error::stream_truncated) : read_error);
    return;
  }
  in_leftover_.append(chunk, n);
  handshake_step();
}

void tls_engine::handshake_done(const error_code& ec) {
  handshake_flushing_ = false;
  if (auto handler = std::move(handshake_handler_)) {
    handshake_handler_ = nullptr;
    // Posted: this may run inside async_handshake() itself.
    asio::post(socket_.get_executor(), [h = std::move(handler), ec] { h(ec); });
  }
}

tls_engine::decrypted tls_engine::decrypt(std::string_view& input, char* out, std::size_t cap, std::size_t& got,
                                          error_code& ec) {
  in_view_ = input;
  decrypted outcome = decrypted::full;
  while (got < cap) {
    if (in_view_.empty() && !SSL_has_pending(ssl_)) {
      // Nothing to decrypt. Asking OpenSSL anyway would make it set up its record buffer
      // (~16 KiB) to wait in, and keep it for as long as the connection stays idle.
      outcome = decrypted::need_input;
      break;
    }
    ERR_clear_error();
    const int asked = static_cast<int>(std::min<std::size_t>(cap - got, INT_MAX));
    const int result = SSL_read(ssl_, out + got, asked);
    if (result > 0) {
      got += static_cast<std::size_t>(result);
      continue;
    }
    const int reason = SSL_get_error(ssl_, result);
    if (reason == SSL_ERROR_WANT_READ) {
      outcome = decrypted::need_input;
    } else if (reason == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      outcome = decrypted::closed;
    } else {
      ec = last_error(result);
      outcome = decrypted::failed;
    }
    break;
  }
  input = in_view_;
  in_view_ = {};
  return outcome;
}

std::size_t tls_engine::read_now(asio::mutable_buffer buffer, error_code& ec) {
  ec = {};
  char* out = static_cast<char*>(buffer.data());
  const std::size_t cap = buffer.size();
  std::size_t got = 0;
  auto settle = [&](decrypted outcome) -> std::size_t {
    // Reading may have made OpenSSL answer (a TLS 1.3 key update): send that along.
    flush();
    if (outcome == decrypted::closed && got == 0) ec = asio::error::eof;
    if (outcome == decrypted::failed && got > 0) pending_error_ = std::exchange(ec, {});  // bytes first
    // Drained: OpenSSL's record buffers are empty now. RELEASE_BUFFERS frees them after
    // application data, but a record that is not (a TLS 1.3 session ticket after the handshake)
    // leaves its write buffer (~16 KiB) set up until the next write, minutes away on an idle
    // socket. Freed here (it does nothing while they hold data), set up again when needed.
    if (outcome == decrypted::need_input && free_buffers_is_safe()) SSL_free_buffers(ssl_);
    return got;
  };
  if (pending_error_) {
    ec = std::exchange(pending_error_, {});
    return 0;
  }
  if (peer_closed_) {
    ec = asio::error::eof;
    return 0;
  }
  if (!ssl_) {
    ec = asio::error::no_memory;
    return 0;
  }
  // First what OpenSSL holds already: plaintext the last call had no room for, or ciphertext
  // it did not get to.
  if (!in_leftover_.empty() || SSL_has_pending(ssl_)) {
    std::string held = std::move(in_leftover_);
    in_leftover_.clear();
    std::string_view input = held;
    const decrypted outcome = decrypt(input, out, cap, got, ec);
    in_leftover_.assign(input);
    if (outcome != decrypted::need_input) return settle(outcome);
  }
  if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
  if (ec) return got;
  char chunk[recv_chunk];
  while (got < cap) {
    error_code read_error;
    const std::size_t n = socket_.read_some(asio::buffer(chunk), read_error);
    if (read_error == asio::error::would_block || read_error == asio::error::try_again) {
      if (got == 0) ec = asio::error::would_block;
      break;
    }
    if (read_error) {
      // An error after some plaintext is reported by the next call (the socket repeats it).
      if (got == 0) ec = read_error == asio::error::eof ? error_code(asio::ssl::error::stream_truncated) : read_error;
      break;
    }
    std::string_view input(chunk, n);
    const decrypted outcome = decrypt(input, out, cap, got, ec);
    if (!input.empty()) in_leftover_.assign(input);  // only when `out` is full or the stream ended
    if (outcome != decrypted::need_input) return settle(outcome);
  }
  return settle(decrypted::need_input);
}

void tls_engine::async_read_some(asio::mutable_buffer buffer, io_handler handler) {
  error_code ec;
  const std::size_t n = read_now(buffer, ec);
  if (ec != asio::error::would_block) {
    asio::post(socket_.get_executor(), [h = std::move(handler), ec, n] { h(ec, n); });
    return;
  }
  async_wait_readable([weak = weak_from_this(), buffer, h = std::move(handler)](const error_code& wait_error) mutable {
    auto self = weak.lock();
    if (!self) return;
    if (wait_error) {
      h(wait_error, 0);
      return;
    }
    self->async_read_some(buffer, std::move(h));
  });
}

void tls_engine::async_wait_readable(done_handler handler) {
  if (!in_leftover_.empty() || (ssl_ && SSL_pending(ssl_) > 0) || peer_closed_ || pending_error_) {
    // OpenSSL holds bytes the socket will not signal again.
    asio::post(socket_.get_executor(), [h = std::move(handler)] { h({}); });
    return;
  }
  socket_.async_wait(io_socket::wait_read, exactly_allocated(std::move(handler)));
}

void tls_engine::async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) {
  std::size_t plain = 0;
  error_code ec;
  if (!ssl_) ec = asio::error::no_memory;
  for (const auto& buffer : buffers) {
    const char* data = static_cast<const char*>(buffer.data());
    std::size_t left = buffer.size();
    while (left > 0 && !ec && !write_failed_) {
      // A step at a time, each sent as soon as it is encrypted while the socket has room: the
      // server decrypts one while the next is encrypted (a whole write first, then the socket,
      // left both sides waiting for each other in turn: -30 % sending 1 KiB messages).
      ERR_clear_error();
      const int step = static_cast<int>(std::min(left, encrypt_step));
      const int result = SSL_write(ssl_, data, step);
      if (result <= 0) {
        ec = last_error(result);
        break;
      }
      data += result;
      left -= static_cast<std::size_t>(result);
      plain += static_cast<std::size_t>(result);
      flush();
    }
  }
  if (!ec) ec = write_failed_;
  if (ec || (!flushing_ && out_pending_.empty())) {
    // Failed, or every record went out at once: no waiting (but never a call from in here).
    asio::post(socket_.get_executor(), [h = std::move(handler), ec, plain] { h(ec, ec ? 0 : plain); });
    return;
  }
  write_handler_ = std::move(handler);
  write_plain_ = plain;
  write_until_ = out_queued_;
}

void tls_engine::close() {
  error_code ignored;
  socket_.shutdown(io_socket::shutdown_both, ignored);
  socket_.close(ignored);
  // Waiters complete as aborted now rather than when the aborted socket writes come back: a
  // waiter holds the connection that holds this engine, and an io thread that is stopping runs
  // nothing more, so it would keep both alive.
  write_failed_ = asio::error::operation_aborted;
  if (write_handler_) {
    asio::post(socket_.get_executor(), [h = std::exchange(write_handler_, nullptr)] { h(asio::error::operation_aborted, 0); });
  }
  handshake_done(asio::error::operation_aborted);
}

void tls_engine::flush() {
  if (flushing_ || out_pending_.empty() || write_failed_) return;
  // Straight to the socket while it has room; only the rest waits for it.
  error_code ec;
  if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
  std::size_t n = ec ? 0 : socket_.write_some(asio::buffer(out_pending_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
  if (ec) {
    write_failed_ = ec;  // the waiters learn it from the next step (async_write, on_flushed)
    return;
  }
  out_sent_ += n;
  if (n == out_pending_.size()) {
    release_if_large(out_pending_);
    return;
  }
  out_pending_.erase(0, n);
  flushing_ = true;
  out_flight_.swap(out_pending_);
  release_if_large(out_pending_);
  asio::async_write(socket_, asio::buffer(out_flight_),
                    [weak = weak_from_this()](const error_code& ec, std::size_t n) {
                      if (auto self = weak.lock()) self->on_flushed(ec, n);
                    });
}

void tls_engine::on_flushed(const error_code& ec, std::size_t n) {
  flushing_ = false;
  out_sent_ += n;
  release_if_large(out_flight_);
  if (ec) {
    write_failed_ = ec;
  } else {
    flush();  // what was encrypted meanwhile
  }
  // Each waiter completes once its records are out, or with the error that stopped them.
  const error_code failed = write_failed_;
  if (write_handler_ && (failed || out_sent_ >= write_until_)) {
    auto handler = std::move(write_handler_);
    write_handler_ = nullptr;
    handler(failed, failed ? 0 : write_plain_);
  }
  if ((handshake_flushing_ && !flushing_ && out_pending_.empty()) || (handshake_handler_ && failed)) {
    handshake_done(failed);
  }
}

}  // namespace rws
