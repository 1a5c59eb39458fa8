// The lane the JavaScript thread writes to an open connection's socket through: when it may, how
// a write the kernel takes in part hands the socket back, and that a replaced connection cannot
// touch its successor's. Over a real socketpair.
#include "transport/direct_lane.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace rws {
namespace {

using kind = direct_lane::write_result::kind;

class DirectLaneTest : public ::testing::Test {
 protected:
  int fds[2] = {-1, -1};
  direct_lane lane{1u << 20};

  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  void TearDown() override {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  std::string read_peer() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
  // Fills the socket until the kernel takes nothing more, then frees `room` bytes of it.
  void fill_leaving(std::size_t room) {
    int small = 4096;
    ASSERT_EQ(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    const std::string chunk(1024, 'f');
    while (::send(fds[0], chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
    }
    std::string freed(room, '\0');
    ASSERT_GT(::recv(fds[1], freed.data(), freed.size(), 0), 0);
  }
};

TEST_F(DirectLaneTest, WritesOnlyWhileTheIoThreadIsIdleAndNumbersWhatItWrites) {
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);  // not open
  const auto generation = lane.open(fds[0]);
  EXPECT_NE(generation, 0u);
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);  // open, but the io thread has not said idle
  lane.set_io_idle();
  auto r = lane.try_write("abc", 3);
  EXPECT_EQ(r.what, kind::written);
  EXPECT_EQ(r.seq, 1u);
  EXPECT_EQ(read_peer(), "abc");
  // The io thread takes the lane for a write of its own: JavaScript waits until it is idle again.
  EXPECT_TRUE(lane.begin_io_write(generation));
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);
  lane.set_io_idle();
  EXPECT_EQ(lane.try_write("d", 1).seq, 2u);
  // The outbox draws from the same counter.
  EXPECT_EQ(lane.next_seq.load(), 3u);
}

TEST_F(DirectLaneTest, ABatchOnItsWayToTheIoThreadKeepsJavaScriptOffUntilTakenAndWrittenOut) {
  lane.open(fds[0]);
  lane.set_io_idle();
  lane.handed_over();
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);  // it would overtake the batch
  lane.taken_over();
  // Taken, but not written yet: the io thread says when it is idle again.
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);
  lane.set_io_idle();
  EXPECT_EQ(lane.try_write("x", 1).what, kind::written);
}

TEST_F(DirectLaneTest, AClosedConnectionIsNeverWrittenAndAReplacedOneCannotCloseItsSuccessor) {
  const auto first = lane.open(fds[0]);
  lane.set_io_idle();
  lane.close(first);
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);
  lane.set_io_idle();  // no effect on a closed lane
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);
  const auto second = lane.open(fds[0]);
  lane.set_io_idle();
  lane.close(first);  // the old connection ending late
  EXPECT_TRUE(lane.begin_io_write(first));  // its own socket: no effect on the lane
  EXPECT_EQ(lane.try_write("y", 1).what, kind::written);
  EXPECT_EQ(read_peer(), "y");
  lane.close(second);
  EXPECT_EQ(lane.try_write("z", 1).what, kind::not_free);
}

TEST_F(DirectLaneTest, AFrameTheKernelTakesInPartHoldsTheIoThreadUntilItHasTheRest) {
  const auto generation = lane.open(fds[0]);
  lane.set_io_idle();
  fill_leaving(2048);
  const std::string frame(200000, 'p');
  auto r = lane.try_write(frame.data(), frame.size());
  ASSERT_EQ(r.what, kind::partial);
  EXPECT_GT(r.written, 0u);
  EXPECT_LT(r.written, frame.size());
  EXPECT_EQ(r.generation, generation);
  // Nothing may go out between the two parts of the frame, from either thread.
  EXPECT_FALSE(lane.begin_io_write(generation));
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);
  // Closing (a close frame is coming) does not let the io thread write before the rest either.
  lane.close(generation);
  EXPECT_FALSE(lane.begin_io_write(generation));
  lane.take_tail(generation);
  lane.taken_over();
  EXPECT_TRUE(lane.begin_io_write(generation));
}

TEST_F(DirectLaneTest, ABrokenSocketWritesNothingAndLeavesTheMessageToTheIoThread) {
  lane.open(fds[0]);
  lane.set_io_idle();
  ::close(fds[1]);
  fds[1] = -1;
  EXPECT_EQ(lane.try_write("x", 1).what, kind::not_free);  // EPIPE, no SIGPIPE
}

}  // namespace
}  // namespace rws
