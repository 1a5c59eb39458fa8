#include "transport/fd_reactor.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace rws {
namespace {

using namespace std::chrono_literals;
using boost::system::error_code;

// A connected pair of stream sockets: `ours` is watched, `peer` plays the far end.
struct socket_pair {
  socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      ours = fds[0];
      peer = fds[1];
    }
  }
  ~socket_pair() {
    if (ours >= 0) ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  void peer_writes(const char* text = "x") const { ASSERT_GT(::write(peer, text, std::strlen(text)), 0); }
  int ours = -1;
  int peer = -1;
};

// Runs handlers until `done` or the time is up (the reactor's wait is real epoll).
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit = 2000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

class FdReactorTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  socket_pair pair;
};

TEST_F(FdReactorTest, AWaitRunsWhenBytesComeAndNeverInsideTheCall) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  std::optional<error_code> result;
  pair.peer_writes();
  ASSERT_FALSE(watch.wait_readable([&](const error_code& ec) { result = ec; }));
  EXPECT_FALSE(result);
  ASSERT_TRUE(run_until(io, [&] { return result.has_value(); }));
  EXPECT_FALSE(*result);
}

TEST_F(FdReactorTest, BytesThatCameWhileNobodyWaitedCompleteTheNextWaitAtOnce) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  watch.begin_read();  // a read found the socket empty
  pair.peer_writes();
  // The reactor sees the edge with no wait pending (as while the connection parses a batch).
  run_until(io, [] { return false; }, 50ms);
  bool called = false;
  ASSERT_FALSE(watch.wait_readable([&](const error_code& ec) { called = !ec; }));
  EXPECT_FALSE(called);  // posted, not called inside wait_readable
  EXPECT_TRUE(run_until(io, [&] { return called; }, 500ms)) << "an edge that came before the wait was lost";
}

TEST_F(FdReactorTest, AReadForgetsTheEdgesBeforeIt) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  pair.peer_writes();
  run_until(io, [] { return false; }, 50ms);  // edge remembered
  char buf[16];
  watch.begin_read();
  ASSERT_EQ(::read(pair.ours, buf, sizeof buf), 1);  // the read takes what the edge announced
  bool called = false;
  ASSERT_FALSE(watch.wait_readable([&](const error_code&) { called = true; }));
  run_until(io, [&] { return called; }, 100ms);
  EXPECT_FALSE(called) << "a wait completed for bytes a read had already taken";
  pair.peer_writes();
  EXPECT_TRUE(run_until(io, [&] { return called; }));
}

TEST_F(FdReactorTest, AWaitForRoomRunsOnceThePeerReads) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  std::vector<char> chunk(64 * 1024, 'a');
  watch.begin_write();
  std::size_t written = 0;
  while (true) {
    const ssize_t n = ::write(pair.ours, chunk.data(), chunk.size());
    if (n < 0) break;
    written += static_cast<std::size_t>(n);
  }
  ASSERT_EQ(errno, EAGAIN) << "start() makes the descriptor non-blocking";
  bool room = false;
  ASSERT_FALSE(watch.wait_writable([&](const error_code& ec) { room = !ec; }));
  run_until(io, [&] { return room; }, 100ms);
  EXPECT_FALSE(room) << "the socket is full";
  std::vector<char> sink(written);
  std::size_t drained = 0;
  while (drained < written) {
    const ssize_t n = ::read(pair.peer, sink.data(), sink.size());
    ASSERT_GT(n, 0);
    drained += static_cast<std::size_t>(n);
  }
  EXPECT_TRUE(run_until(io, [&] { return room; }));
}

TEST_F(FdReactorTest, AHangUpWakesTheReader) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  bool called = false;
  ASSERT_FALSE(watch.wait_readable([&](const error_code&) { called = true; }));
  ::close(pair.peer);
  pair.peer = -1;
  EXPECT_TRUE(run_until(io, [&] { return called; }));
}

// The peer writes and closes before anyone looks: one edge announces both. A read that takes the
// bytes stops short of the end, and the next wait must still complete (its read finds the end);
// waiting for another edge would hang the connection for good.
TEST_F(FdReactorTest, AnEndThatCameWithBytesIsFoundByTheNextWait) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  pair.peer_writes("last");
  ::close(pair.peer);
  pair.peer = -1;
  bool first = false;
  ASSERT_FALSE(watch.wait_readable([&](const error_code& ec) { first = !ec; }));
  ASSERT_TRUE(run_until(io, [&] { return first; }));
  char buf[16];
  watch.begin_read();
  ASSERT_EQ(::read(pair.ours, buf, sizeof buf), 4);  // the bytes; the end is still to be read
  bool second = false;
  ASSERT_FALSE(watch.wait_readable([&](const error_code& ec) { second = !ec; }));
  EXPECT_TRUE(run_until(io, [&] { return second; }, 500ms)) << "the end came with the bytes' edge and was lost";
  EXPECT_EQ(::read(pair.ours, buf, sizeof buf), 0);
  bool room = false;  // a peer that is gone: a wait for room completes too (the write finds out)
  ASSERT_FALSE(watch.wait_writable([&](const error_code& ec) { room = !ec; }));
  EXPECT_TRUE(run_until(io, [&] { return room; }, 500ms));
}

TEST_F(FdReactorTest, StopDropsTheWaitUnrunAndLeavesTheDescriptorOpen) {
  fd_reactor::watch watch;
  ASSERT_FALSE(watch.start(io, pair.ours));
  auto held = std::make_shared<int>(0);
  bool called = false;
  ASSERT_FALSE(watch.wait_readable([&, held](const error_code&) { called = true; }));
  EXPECT_EQ(held.use_count(), 2);
  watch.stop();
  EXPECT_FALSE(watch.active());
  EXPECT_EQ(held.use_count(), 1) << "the handler (and what it holds) goes with stop()";
  EXPECT_GE(::fcntl(pair.ours, F_GETFD), 0) << "the caller closes the descriptor";
  pair.peer_writes();
  run_until(io, [&] { return called; }, 100ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(fd_reactor::of(io).watch_count(), 0u);
  EXPECT_TRUE(watch.wait_readable([](const error_code&) {})) << "a stopped watch refuses to wait";
}

TEST_F(FdReactorTest, AHandlerMayDestroyAnotherWatchWhoseEventIsInTheSameBatch) {
  socket_pair second;
  auto a = std::make_unique<fd_reactor::watch>();
  auto b = std::make_unique<fd_reactor::watch>();
  ASSERT_FALSE(a->start(io, pair.ours));
  ASSERT_FALSE(b->start(io, second.ours));
  int calls = 0;
  // Whichever runs first destroys the other, whose event is already in the same epoll batch.
  ASSERT_FALSE(a->wait_readable([&](const error_code&) {
    ++calls;
    b.reset();
  }));
  ASSERT_FALSE(b->wait_readable([&](const error_code&) {
    ++calls;
    a.reset();
  }));
  pair.peer_writes();
  second.peer_writes();
  run_until(io, [] { return false; }, 100ms);
  EXPECT_EQ(calls, 1) << "an event of a destroyed watch was delivered";
  EXPECT_EQ(fd_reactor::of(io).watch_count(), 1u);
}

// An owner whose pending wait holds the owner itself, as a connection's does.
struct owner : std::enable_shared_from_this<owner> {
  fd_reactor::watch watch;
};

TEST(FdReactor, DestroyingTheIoContextDropsWaitsThatHoldTheirOwners) {
  socket_pair pair;
  std::weak_ptr<owner> weak;
  {
    boost::asio::io_context io;
    auto o = std::make_shared<owner>();
    weak = o;
    ASSERT_FALSE(o->watch.start(io, pair.ours));
    ASSERT_FALSE(o->watch.wait_readable([o](const error_code&) {}));
    o.reset();
    EXPECT_FALSE(weak.expired()) << "the wait keeps its owner, as an Asio operation would";
  }
  EXPECT_TRUE(weak.expired()) << "the cycle through the pending wait outlived the io_context";
}

TEST_F(FdReactorTest, TheReactorWaitsOnlyWhileSomethingIsWatched) {
  {
    fd_reactor::watch watch;
    ASSERT_FALSE(watch.start(io, pair.ours));
    EXPECT_EQ(fd_reactor::of(io).watch_count(), 1u);
    pair.peer_writes();
    run_until(io, [] { return false; }, 30ms);
  }
  EXPECT_EQ(fd_reactor::of(io).watch_count(), 0u);
  io.restart();
  io.run_for(200ms);
  EXPECT_TRUE(io.stopped()) << "an io thread with no connections keeps a wait pending";
  // And a watch started afterwards is served.
  fd_reactor::watch again;
  ASSERT_FALSE(again.start(io, pair.ours));
  bool called = false;
  ASSERT_FALSE(again.wait_readable([&](const error_code&) { called = true; }));
  pair.peer_writes();
  EXPECT_TRUE(run_until(io, [&] { return called; }));
}

}  // namespace
}  // namespace rws
