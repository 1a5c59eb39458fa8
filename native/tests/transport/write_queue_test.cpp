// The write queue's bookkeeping: one write in flight, everything queued meanwhile in the next
// write, tags reported once every byte up to them is written, buffers reused.
#include "transport/write_queue.hpp"

#include <gtest/gtest.h>

namespace rws {
namespace {

TEST(WriteQueue, NextWriteTakesEverythingQueuedAndReportsTheNewestCompletedTag) {
  write_queue q;
  EXPECT_FALSE(q.has_pending());
  q.pending() += "aaaa";
  q.tag_last(1);
  auto first = q.begin_write();
  EXPECT_EQ(first, "aaaa");
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
  EXPECT_EQ(q.begin_write(), "bbcdd");
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
  const char* second = q.begin_write().data();
  q.end_write(4096);
  q.pending().append(4096, 'z');
  q.begin_write();
  q.end_write(4096);
  q.pending().append(16, 'w');
  // The buffer that carried the second write is the one collecting frames again: no new block.
  EXPECT_EQ(q.pending().data(), second);
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

}  // namespace
}  // namespace rws
