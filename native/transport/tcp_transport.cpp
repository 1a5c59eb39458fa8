// Plain TCP. Until the WebSocket handshake is done the socket is Asio's (the connect race, a
// proxy's CONNECT and the upgrade read and write through it). At open the descriptor leaves
// Asio's reactor for the io thread's fd_reactor ("parked"): an idle connection keeps no Asio
// descriptor state and no pending Asio operation (fd_reactor.hpp says what that saves), and its
// reads, writes and waits are this file's own system calls.
//
// A busy connection goes back to Asio's reactor: each wake-up through the fd_reactor costs one
// more epoll_wait (the set's, after Asio's), measured +1.5 us per round trip of an echo with
// both ends on one CPU (bench echo-64-text-pinned, 33.4 -> 35.0 us). The mode is chosen when the
// connection next waits for bytes, by how long its last waits lasted (until the read they woke):
// two in a row shorter than busy_interval move it to Asio, one of idle_interval or longer parks
// it again. Moving costs a few epoll_ctl calls, on a change of pace, not per message. Asio keeps
// the descriptor states it no longer needs for its next sockets, so its memory follows how many
// connections are busy (and opening) at once, not how many are open.
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <utility>

#include "transport/block_pool.hpp"
#include "transport/exact_allocator.hpp"
#include "transport/fd_reactor.hpp"
#include "transport/transport.hpp"

namespace rws {
namespace {

error_code last_error() { return error_code(errno, asio::error::get_system_category()); }

tcp::endpoint endpoint_of(int fd, bool peer, error_code& ec) {
  tcp::endpoint endpoint;
  socklen_t size = static_cast<socklen_t>(endpoint.capacity());
  if ((peer ? ::getpeername(fd, endpoint.data(), &size) : ::getsockname(fd, endpoint.data(), &size)) < 0) {
    ec = last_error();
    return {};
  }
  endpoint.resize(size);
  ec = {};
  return endpoint;
}

constexpr auto busy_interval = std::chrono::milliseconds(5);
constexpr auto idle_interval = std::chrono::seconds(1);

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(asio::io_context& io) : socket_(io) {}
  // Kept as long as its connection: from the pool of such blocks, not the io thread's arena
  // (block_pool.hpp says why). The class is final: every instance has this size.
  static void* operator new(std::size_t) { return block_pool::of_type<tcp_transport>().allocate(); }
  static void operator delete(void* p) { block_pool::of_type<tcp_transport>().deallocate(p); }
  ~tcp_transport() override {
    close_stranded();
    if (parked()) {
      watch_.stop();
      ::close(fd_);
    }
  }

  io_socket& socket() override { return socket_; }
  void async_secure(done_handler handler) override {
    asio::post(io(), [h = std::move(handler)] { h({}); });
  }
  // The connection does not use it (it reads on readiness from the handshake on); Asio's read,
  // for the interface, until parked.
  void async_read_some(asio::mutable_buffer buffer, io_handler handler) override {
    if (parked()) {
      asio::post(io(), [h = std::move(handler)] { h(asio::error::operation_not_supported, 0); });
      return;
    }
    socket_.async_read_some(buffer, std::move(handler));
  }
  void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) override {
    if (parked()) {
      write_now(buffers, std::move(handler));
      return;
    }
    // Counted, so that the connection is not parked under a write Asio still has. `this` outlives
    // the write: its handler holds the connection, which owns this transport.
    ++asio_writes_;
    auto counted = [this, h = std::move(handler)](const error_code& ec, std::size_t n) {
      --asio_writes_;
      h(ec, n);
    };
    if (buffers.size() == 1) {
      // One buffer goes as a single buffer: a vector would be copied into the operation, and
      // Asio's operation for a buffer sequence carries room for 64 buffers (over 1 KiB), too
      // large for its per-thread recycling, so each write would cost two more mallocs.
      asio::async_write(socket_, buffers.front(), std::move(counted));
    } else {
      asio::async_write(socket_, buffers, std::move(counted));
    }
  }
  bool reads_on_readiness() const override { return true; }
  error_code opened() override {
    error_code ec;
    v6_ = socket_.local_endpoint(ec).protocol() == tcp::v6();
    if (ec) return ec;
    open_ = true;
    return park();  // nothing is pending on the socket at open
  }
  int direct_write_fd() override { return parked() ? fd_ : socket_.native_handle(); }
  void async_wait_readable(done_handler handler) override {
    if (open_) {
      if (error_code ec = choose_reactor()) {
        asio::post(io(), [h = std::move(handler), ec] { h(ec); });
        return;
      }
      wait_began_ = std::chrono::steady_clock::now();
    }
    if (!parked()) {
      socket_.async_wait(io_socket::wait_read, exactly_allocated(std::move(handler)));
      return;
    }
    if (auto ec = watch_.wait_readable(std::move(handler))) {
      asio::post(io(), [h = std::move(handler), ec] { h(ec); });
    }
  }
  std::size_t read_now(asio::mutable_buffer buffer, error_code& ec) override {
    if (wait_began_ != std::chrono::steady_clock::time_point{}) note_wait_ended();
    if (!parked()) {
      // Without the user-visible non-blocking mode, Asio's read_some would poll() until data came.
      if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
      if (ec) return 0;
      return socket_.read_some(buffer, ec);
    }
    watch_.begin_read();
    ssize_t n;
    do {
      n = ::recv(fd_, buffer.data(), buffer.size(), 0);  // the descriptor is non-blocking
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = n == 0 ? error_code(asio::error::eof) : last_error();
    return 0;
  }
  std::size_t available(error_code& ec) override {
    if (!parked()) return socket_.available(ec);
    int n = 0;
    if (::ioctl(fd_, FIONREAD, &n) < 0) {
      ec = last_error();
      return 0;
    }
    ec = {};
    return static_cast<std::size_t>(n);
  }
  tcp::endpoint local_endpoint(error_code& ec) override {
    return parked() ? endpoint_of(fd_, false, ec) : socket_.local_endpoint(ec);
  }
  tcp::endpoint remote_endpoint(error_code& ec) override {
    return parked() ? endpoint_of(fd_, true, ec) : socket_.remote_endpoint(ec);
  }
  // Pending operations complete with operation_aborted, as they would on an Asio socket.
  void close() override {
    open_ = false;
    close_stranded();
    if (!parked()) {
      transport::close();
      return;
    }
    fd_reactor::ready_handler reader = watch_.take_reader();
    std::unique_ptr<fd_reactor::ready_handler> writer = watch_.take_writer();
    watch_.stop();
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
    write_pending_ = false;
    if (reader) asio::post(io(), [h = std::move(reader)] { h(asio::error::operation_aborted); });
    // The wait for room completes its write with the error, without this transport.
    if (writer) asio::post(io(), [w = std::move(writer)] { (*w)(asio::error::operation_aborted); });
  }

 private:
  asio::io_context& io() { return socket_.get_executor().context(); }
  // The descriptor is the fd_reactor's (fd_ is set), not Asio's. Kept here rather than read from
  // the watch: if the io_context shuts down first, the watch is detached, and the descriptor must
  // still be closed with this transport.
  bool parked() const { return fd_ >= 0; }
  void close_stranded() {
    if (stranded_fd_ >= 0) ::close(stranded_fd_);
    stranded_fd_ = -1;
  }

  // See the top of the file. The first read after a wait tells how long the wait lasted.
  void note_wait_ended() {
    const auto lasted = std::chrono::steady_clock::now() - wait_began_;
    wait_began_ = {};
    short_waits_ = lasted < busy_interval ? static_cast<std::uint8_t>(std::min(short_waits_ + 1, 2)) : 0;
    long_wait_ = lasted >= idle_interval;
  }
  // Called with no wait for bytes pending; an error ends the connection (its descriptor is gone).
  error_code choose_reactor() {
    if (parked() && short_waits_ >= 2 && !write_pending_) return unpark();
    if (!parked() && long_wait_ && asio_writes_ == 0) return park();
    return {};
  }
  tcp protocol() const { return v6_ ? tcp::v6() : tcp::v4(); }
  // Moves the descriptor from Asio's reactor to the fd_reactor; if the set cannot take it (out of
  // memory, or the system's max_user_watches), it stays with Asio.
  error_code park() {
    long_wait_ = false;
    error_code ec;
    const int fd = socket_.release(ec);
    if (ec) return ec;
    if (!watch_.start(io(), fd)) {
      fd_ = fd;
      return {};
    }
    socket_.assign(protocol(), fd, ec);
    return ec ? strand(fd, ec) : error_code();
  }
  // The other way; if Asio cannot take it, it stays parked.
  error_code unpark() {
    short_waits_ = 0;
    const int fd = std::exchange(fd_, -1);
    watch_.stop();
    error_code ec;
    socket_.assign(protocol(), fd, ec);
    if (!ec) return {};
    error_code again = watch_.start(io(), fd);
    if (again) return strand(fd, again);
    fd_ = fd;
    return {};
  }
  // Neither reactor took the descriptor: the connection ends with `ec`. It is closed with the
  // transport, not now: the JavaScript thread may still write to it until the connection closes
  // its direct lane, and a number closed now could already belong to another socket.
  error_code strand(int fd, error_code ec) {
    stranded_fd_ = fd;
    return ec;
  }

  // A write the socket could not take whole: the rest waits for room. It lives in that wait, as
  // it would in an Asio operation: if the io_context shuts down first, dropping the wait drops the
  // write's handler and the connection it holds (shared, as std::function needs a copyable one).
  struct pending_write {
    std::vector<asio::const_buffer> buffers;
    std::size_t written;
    std::size_t total;
    io_handler handler;
  };

  // Writes `buffers` from byte `skip` on until they are all out, the socket is full
  // (would_block) or it fails; returns the bytes written.
  std::size_t send_some(const std::vector<asio::const_buffer>& buffers, std::size_t skip, error_code& ec) {
    watch_.begin_write();
    std::size_t sent = 0;
    for (;;) {
      constexpr int most = 64;
      iovec iov[most];
      int count = 0;
      std::size_t offset = skip + sent;
      for (const auto& b : buffers) {
        if (offset >= b.size()) {
          offset -= b.size();
          continue;
        }
        if (count == most) break;
        iov[count].iov_base = const_cast<char*>(static_cast<const char*>(b.data())) + offset;
        iov[count].iov_len = b.size() - offset;
        offset = 0;
        ++count;
      }
      if (count == 0) {
        ec = {};
        return sent;
      }
      msghdr message{};
      message.msg_iov = iov;
      message.msg_iovlen = static_cast<std::size_t>(count);
      const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        ec = last_error();
        return sent;
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  void write_now(const std::vector<asio::const_buffer>& buffers, io_handler handler) {
    std::size_t total = 0;
    for (const auto& b : buffers) total += b.size();
    error_code ec;
    const std::size_t n = send_some(buffers, 0, ec);
    if (n < total && (!ec || ec == asio::error::would_block)) {
      await_room(std::make_shared<pending_write>(pending_write{buffers, n, total, std::move(handler)}));
      return;
    }
    // Never inside the call, as with Asio.
    asio::post(io(), [h = std::move(handler), ec, n] { h(ec, n); });
  }

  void await_room(std::shared_ptr<pending_write> write) {
    write_pending_ = true;
    // `this` is used only on success: the watch drops the wait, unrun, when it stops, and close()
    // completes it with an error, which reaches the write's handler alone.
    error_code ec = watch_.wait_writable([this, write](const error_code& error) {
      if (error) {
        write->handler(error, write->written);
        return;
      }
      continue_write(write);
    });
    if (!ec) return;
    write_pending_ = false;
    asio::post(io(), [write, ec] { write->handler(ec, write->written); });
  }

  void continue_write(const std::shared_ptr<pending_write>& write) {
    error_code ec;
    write->written += send_some(write->buffers, write->written, ec);
    if (write->written < write->total && (!ec || ec == asio::error::would_block)) {
      await_room(write);
      return;
    }
    write_pending_ = false;
    // From the reactor's dispatch, not from inside a call of the connection's: called here.
    write->handler(ec, write->written);
  }

  io_socket socket_;         // until open, and while busy
  fd_reactor::watch watch_;  // while parked
  int fd_ = -1;              // while parked
  std::chrono::steady_clock::time_point wait_began_{};  // a wait for bytes is pending (or just ended)
  unsigned asio_writes_ = 0;
  int stranded_fd_ = -1;
  bool open_ = false;
  bool v6_ = false;
  bool long_wait_ = false;        // the last wait lasted idle_interval or more
  bool write_pending_ = false;    // parked: a write waits for room
  std::uint8_t short_waits_ = 0;  // waits in a row shorter than busy_interval (up to 2)
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport(asio::io_context& io) { return std::make_unique<tcp_transport>(io); }

}  // namespace rws
