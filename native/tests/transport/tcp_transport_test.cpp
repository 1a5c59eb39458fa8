// The plain-TCP transport once open, over a real loopback connection: parked in the io thread's
// fd_reactor, then moved back to Asio by two short waits. What the connection relies on: the
// kernel's count of unread bytes (the replay phase ends on it), reads, end of stream, a write
// that has to wait for room, and close() completing what is pending with operation_aborted.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "transport/fd_reactor.hpp"
#include "transport/transport.hpp"

namespace rws {
namespace {

using namespace std::chrono_literals;

template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = 2000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_one_for(1ms);  // returns after each handler: a wait here lasts as long as it takes
  }
  return done();
}

class TcpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    stream = make_tcp_transport(io);
    stream->socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
    ASSERT_FALSE(stream->opened());  // the handshake is done: the descriptor is parked
  }
  void peer_sends(const std::string& bytes) { asio::write(peer, asio::buffer(bytes)); }
  // Waits for bytes through the transport, then reads them all.
  std::string wait_and_read() {
    std::optional<error_code> woke;
    stream->async_wait_readable([&](const error_code& ec) { woke = ec; });
    EXPECT_TRUE(run_until(io, [&] { return woke.has_value(); }));
    std::string got(64 * 1024, '\0');
    error_code ec;
    got.resize(stream->read_now(asio::buffer(got), ec));
    EXPECT_FALSE(ec) << ec.message();
    return got;
  }
  bool parked() { return fd_reactor::of(io).watch_count() == 1; }

  asio::io_context io;
  std::unique_ptr<transport> stream;
  tcp::socket peer{io};
};

TEST_F(TcpTransportTest, OpenParksTheDescriptorAndReadsGoThroughTheReactor) {
  EXPECT_TRUE(parked());
  EXPECT_GE(stream->direct_write_fd(), 0);
  peer_sends("hello");
  EXPECT_EQ(wait_and_read(), "hello");
  error_code ec;
  const auto local = stream->local_endpoint(ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(local, peer.remote_endpoint());
  EXPECT_EQ(stream->remote_endpoint(ec), peer.local_endpoint());
}

TEST_F(TcpTransportTest, AvailableCountsUnreadBytesWhileParked) {
  // The replay phase ends when a read leaves nothing unread (connection::has_pending_input).
  peer_sends(std::string(1000, 'x'));
  ASSERT_TRUE(run_until(io, [&] {
    error_code ec;
    return stream->available(ec) == 1000;
  })) << "a parked connection reported no unread bytes";
  char some[10];
  error_code ec;
  EXPECT_EQ(stream->read_now(asio::buffer(some), ec), 10u);
  EXPECT_EQ(stream->available(ec), 990u);
}

TEST_F(TcpTransportTest, TheEndOfTheStreamReadsAsEof) {
  peer.close();
  std::optional<error_code> woke;
  stream->async_wait_readable([&](const error_code& ec) { woke = ec; });
  ASSERT_TRUE(run_until(io, [&] { return woke.has_value(); }));
  char buf[16];
  error_code ec;
  EXPECT_EQ(stream->read_now(asio::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, asio::error::eof);
}

// A peer that sends a few bytes and resets the connection before the client looks: one edge
// announces both. The read takes the bytes (a short read: the connection takes the socket for
// drained), and the next wait must still complete, with the reset found by its read.
TEST_F(TcpTransportTest, AResetThatCameWithTheLastBytesIsFoundByTheNextWait) {
  peer_sends("partial frame");
  peer.set_option(asio::socket_base::linger(true, 0));  // close() sends RST
  peer.close();  // over loopback, both have arrived when this returns
  EXPECT_EQ(wait_and_read(), "partial frame");
  std::optional<error_code> woke;
  stream->async_wait_readable([&](const error_code& ec) { woke = ec; });
  ASSERT_TRUE(run_until(io, [&] { return woke.has_value(); }, 500ms)) << "the reset was lost: the connection would hang";
  char buf[16];
  error_code ec;
  EXPECT_EQ(stream->read_now(asio::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, asio::error::connection_reset) << ec.message();
}

TEST_F(TcpTransportTest, ShortWaitsMoveItToAsioAndBytesStillFlowInOrder) {
  std::string all;
  for (int i = 0; i < 6; ++i) {
    peer_sends("m" + std::to_string(i) + ";");
    all += wait_and_read();
  }
  EXPECT_EQ(all, "m0;m1;m2;m3;m4;m5;");
  EXPECT_FALSE(parked()) << "waits under 5 ms in a row leave the descriptor with Asio";
  peer_sends("after");
  EXPECT_EQ(wait_and_read(), "after");
  error_code ec;
  EXPECT_EQ(stream->local_endpoint(ec), peer.remote_endpoint());
}

TEST_F(TcpTransportTest, AWriteThatWaitsForRoomCompletesOnceThePeerReads) {
  const std::string big(8 << 20, 'w');  // more than the socket buffers hold
  std::optional<std::pair<error_code, std::size_t>> done;
  stream->async_write({asio::buffer(big)}, [&](const error_code& ec, std::size_t n) { done.emplace(ec, n); });
  EXPECT_FALSE(done) << "never completes inside the call";
  run_until(io, [&] { return done.has_value(); }, 50ms);
  EXPECT_FALSE(done) << "the peer has read nothing yet";
  std::string got(big.size(), '\0');
  std::size_t read = 0;
  while (read < big.size() && run_until(io, [&] { return peer.available() > 0 || done.has_value(); }, 2000ms)) {
    read += peer.read_some(asio::buffer(got.data() + read, got.size() - read));
  }
  ASSERT_TRUE(run_until(io, [&] { return done.has_value(); }));
  EXPECT_FALSE(done->first);
  EXPECT_EQ(done->second, big.size());
  EXPECT_EQ(read, big.size());
  EXPECT_EQ(got, big);
}

TEST_F(TcpTransportTest, CloseCompletesPendingWaitsWithOperationAborted) {
  const std::string big(8 << 20, 'w');
  std::optional<error_code> write_result, wait_result;
  stream->async_write({asio::buffer(big)}, [&](const error_code& ec, std::size_t) { write_result = ec; });
  stream->async_wait_readable([&](const error_code& ec) { wait_result = ec; });
  run_until(io, [] { return false; }, 20ms);
  stream->close();
  EXPECT_EQ(fd_reactor::of(io).watch_count(), 0u);
  ASSERT_TRUE(run_until(io, [&] { return write_result && wait_result; }));
  EXPECT_EQ(*write_result, asio::error::operation_aborted);
  EXPECT_EQ(*wait_result, asio::error::operation_aborted);
  error_code ec;
  char buf[4];
  stream->read_now(asio::buffer(buf), ec);
  EXPECT_TRUE(ec) << "a closed transport reads nothing";
}

TEST(TcpTransport, AnIoContextDestroyedUnderAWaitingWriteFreesItsOwnerAndClosesTheDescriptor) {
  // The write's handler holds the transport's owner, as a connection's does: a cycle that only
  // dropping the wait breaks (an Asio operation would be dropped the same way).
  asio::io_context peer_io;
  tcp::socket peer(peer_io);
  std::weak_ptr<std::unique_ptr<transport>> weak;
  {
    asio::io_context io;
    tcp::acceptor acceptor(peer_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto owner = std::make_shared<std::unique_ptr<transport>>(make_tcp_transport(io));
    weak = owner;
    transport& stream = **owner;
    stream.socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
    ASSERT_FALSE(stream.opened());
    const std::string big(8 << 20, 'w');
    stream.async_write({asio::buffer(big)}, [owner](const error_code&, std::size_t) {});
    owner.reset();
    run_until(io, [] { return false; }, 20ms);
    EXPECT_FALSE(weak.expired()) << "the waiting write holds its handler";
  }
  EXPECT_TRUE(weak.expired()) << "the waiting write (and the owner it holds) outlived the io_context";
  // The peer reads what was sent, then the end of the stream: the descriptor was closed.
  std::vector<char> sink(1 << 20);
  error_code ec;
  std::size_t total = 0;
  while (!ec) total += peer.read_some(asio::buffer(sink), ec);
  EXPECT_EQ(ec, asio::error::eof) << "after " << total << " bytes";
}

}  // namespace
}  // namespace rws
