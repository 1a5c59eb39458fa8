// The write queue's bookkeeping: one write in flight, everything queued meanwhile in the next
// write, tags reported once every byte up to them is written, buffers reused.
#include "transport/write_queue.hpp"

#include <gtest/gtest.h>

namespace rws {
namespace {

// A write's buffers as the socket would see them, one after another.
std::string joined(const std::vector<std::string_view>& buffers) {
  std::string all;
  for (auto b : buffers) all += b;
  return all;
}

TEST(WriteQueue, NextWriteTakesEverythingQueuedAndReportsTheNewestCompletedTag) {
  write_queue q;
  EXPECT_FALSE(q.has_pending());
  q.pending() += "aaaa";
  q.tag_last(1);
  EXPECT_EQ(joined(q.begin_write()), "aaaa");
  EXPECT_TRUE(q.writing());
  q.pending() += "bb";
  q.tag_last(2);
  q.pending() += "c";  // untagged
  q.pending() += "dd";
  q.tag_last(3);
  EXPECT_EQ(q.buffered_bytes(), 4u + 5u);
  EXPECT_EQ(q.end_write(4), 1u);
  EXPECT_FALSE(q.writing());
  EXPECT_EQ(q.buffered_bytes(), 5u);
  EXPECT_EQ(joined(q.begin_write()), "bbcdd");
  EXPECT_EQ(q.end_write(5), 3u);
  EXPECT_EQ(q.buffered_bytes(), 0u);
  EXPECT_FALSE(q.has_pending());
}

TEST(WriteQueue, AWriteWithoutTagsReportsNone) {
  write_queue q;
  q.pending() += "pong";
  q.tag_last(0);
  q.begin_write();
  EXPECT_EQ(q.end_write(4), 0u);
}

TEST(WriteQueue, BuffersSwapRolesSoTheirCapacityIsReused) {
  write_queue q;
  q.pending().append(4096, 'x');
  q.begin_write();
  q.end_write(4096);
  q.pending().append(4096, 'y');
  const char* second = q.begin_write().at(0).data();
  q.end_write(4096);
  q.pending().append(4096, 'z');
  q.begin_write();
  q.end_write(4096);
  q.pending().append(16, 'w');
  // The buffer that carried the second write is the one collecting frames again: no new block.
  EXPECT_EQ(q.pending().data(), second);
}

TEST(WriteQueue, BuffersAreSmallUntilABurstGrowsThem) {
  write_queue q;
  EXPECT_TRUE(q.buffers_small());
  q.pending() += "ping frame";
  q.tag_last(1);
  q.begin_write();
  EXPECT_EQ(q.end_write(10), 1u);
  EXPECT_TRUE(q.buffers_small());  // a ping or a short message: the connection may drop the queue
  const std::string burst(1 << 20, 'x');
  q.pending() += burst;
  q.begin_write();
  EXPECT_EQ(q.end_write(burst.size()), 0u);
  EXPECT_FALSE(q.buffers_small());  // kept for a sender that goes on
  for (std::uint64_t tag = 2; tag <= 100; ++tag) {
    write_queue tags;
    for (std::uint64_t t = 1; t <= tag; ++t) {
      tags.pending() += "m";
      tags.tag_last(t);
    }
    EXPECT_EQ(tags.buffers_small(), tag <= 16) << tag << " tags";
  }
}

TEST(WriteQueue, AFailedWriteDropsTheBytesInFlight) {
  write_queue q;
  q.pending() += "abc";
  q.tag_last(7);
  q.begin_write();
  q.pending() += "later";
  q.fail_write();
  EXPECT_FALSE(q.writing());
  EXPECT_EQ(q.buffered_bytes(), 5u);
}

TEST(WriteQueue, SharedBytesGoOutInPlaceBetweenTheFramesAroundThem) {
  write_queue q;
  auto big = std::make_shared<std::string>(100, 'P');
  q.pending() += "h1";
  q.append_shared(*big, big);
  q.tag_last(1);
  q.pending() += "h2";
  q.tag_last(2);
  EXPECT_EQ(q.buffered_bytes(), 104u);
  const auto& buffers = q.begin_write();
  ASSERT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[0], "h1");
  EXPECT_EQ(buffers[1].data(), big->data());  // the owner's own bytes, not a copy
  EXPECT_EQ(buffers[2], "h2");
  EXPECT_EQ(q.buffered_bytes(), 104u);
  // Only the first frame and its payload are written: tag 1, not yet tag 2.
  EXPECT_EQ(q.end_write(102), 1u);
}

TEST(WriteQueue, SharedBytesStayAliveUntilTheirWriteEnds) {
  write_queue q;
  auto big = std::make_shared<std::string>(64, 'x');
  std::weak_ptr<std::string> watch = big;
  q.append_shared(*big, big);
  big.reset();  // the outbox let go of the message meanwhile
  const auto& buffers = q.begin_write();
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(joined(buffers), std::string(64, 'x'));
  q.end_write(64);
  EXPECT_TRUE(watch.expired());

  auto other = std::make_shared<std::string>(8, 'y');
  watch = other;
  q.append_shared(*other, other);
  other.reset();
  q.begin_write();
  q.fail_write();
  EXPECT_TRUE(watch.expired());
}

TEST(WriteQueue, TagsCountSharedBytesQueuedWhileAWriteIsInFlight) {
  write_queue q;
  q.pending() += "one";
  q.tag_last(1);
  q.begin_write();
  auto big = std::make_shared<std::string>(10, 'z');
  q.pending() += "hd";
  q.append_shared(*big, big);
  q.tag_last(2);
  EXPECT_TRUE(q.has_pending());
  EXPECT_EQ(q.buffered_bytes(), 3u + 12u);
  EXPECT_EQ(q.end_write(3), 1u);
  EXPECT_EQ(joined(q.begin_write()), "hd" + std::string(10, 'z'));
  EXPECT_EQ(q.end_write(11), 0u);  // one byte short of the payload's end
}

// The rest of a frame the JavaScript thread began goes ahead of what the io thread queued
// meanwhile (a pong, a shared payload), and every tag still lands where its message ends.
TEST(WriteQueue, APrependedPieceGoesFirstAndTheTagsMoveWithWhatFollows) {
  write_queue q;
  q.pending() += "aa";
  q.tag_last(1);
  EXPECT_EQ(joined(q.begin_write()), "aa");
  EXPECT_EQ(q.end_write(2), 1u);
  q.pending() += "pong";  // untagged control frame queued while the tail was on its way
  const std::string big(100, 'B');
  q.pending() += "h";
  q.append_shared(big, nullptr);
  q.tag_last(7);
  q.prepend("tail", 5);
  EXPECT_EQ(q.buffered_bytes(), 4u + 4u + 1u + 100u);
  EXPECT_EQ(joined(q.begin_write()), "tailpongh" + big);
  EXPECT_EQ(q.end_write(4), 5u);    // (counted in parts) the tail: its message is written
  EXPECT_EQ(q.end_write(105), 7u);  // the rest: the shared payload's message too
}

}  // namespace
}  // namespace rws
