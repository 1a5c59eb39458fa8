// The recycler of large message buffers: it hands back memory that fits, keeps only large
// buffers and only up to its limit, and a large payload's block returns its memory to it.
// The recycler is one per process, so each test works with what it adds on top of what is there.
#include "common/buffer_recycler.hpp"

#include <gtest/gtest.h>

#include "common/shared_payload.hpp"
#include "protocol/frame_codec.hpp"

namespace rws {
namespace {

class BufferRecyclerTest : public ::testing::Test {
 protected:
  buffer_recycler& recycler = buffer_recycler::instance();
  void SetUp() override {
    // Start empty: take everything that earlier tests left.
    while (recycler.bytes_held() > 0) (void)recycler.take(buffer_recycler::min_size);
  }
};

TEST_F(BufferRecyclerTest, ATakenBufferIsTheMemoryGivenBackWhenItFits) {
  std::string big;
  big.reserve(64 * 1024);
  const char* memory = big.data();
  recycler.give(std::move(big));
  EXPECT_GE(recycler.bytes_held(), 64u * 1024);

  std::string again = recycler.take(40 * 1024);
  EXPECT_EQ(again.data(), memory);  // the same pages, no new allocation
  EXPECT_TRUE(again.empty());
  EXPECT_GE(again.capacity(), 40u * 1024);
  EXPECT_EQ(recycler.bytes_held(), 0u);
  again.assign(40 * 1024, 'x');
  EXPECT_EQ(again.data(), memory);  // assign() fits in the capacity taken
}

TEST_F(BufferRecyclerTest, TakeChoosesTheSmallestBufferThatFitsAndAllocatesWhenNoneDoes) {
  std::string a, b;
  a.reserve(200 * 1024);
  b.reserve(70 * 1024);
  const char* small_fit = b.data();
  recycler.give(std::move(a));
  recycler.give(std::move(b));
  EXPECT_EQ(recycler.take(65 * 1024).data(), small_fit);
  std::string fresh = recycler.take(300 * 1024);  // nothing that large is held
  EXPECT_GE(fresh.capacity(), 300u * 1024);
  EXPECT_GE(recycler.bytes_held(), 200u * 1024);  // the 200 KiB one is still there
}

TEST_F(BufferRecyclerTest, SmallBuffersAreNotKeptAndTheLimitHolds) {
  std::string small;
  small.reserve(buffer_recycler::min_size / 2);
  recycler.give(std::move(small));
  EXPECT_EQ(recycler.bytes_held(), 0u);
  EXPECT_TRUE(recycler.take(100).capacity() < buffer_recycler::min_size);  // small takes never look

  const std::size_t each = 1024 * 1024;
  for (int i = 0; i < 10; ++i) {
    std::string s;
    s.reserve(each);
    recycler.give(std::move(s));
  }
  EXPECT_LE(recycler.bytes_held(), buffer_recycler::limit_bytes);
  EXPECT_GT(recycler.bytes_held(), buffer_recycler::limit_bytes - each - 64);
}

TEST_F(BufferRecyclerTest, ALargePayloadGivesItsMemoryBackWhenTheLastOwnerLetsGo) {
  shared_payload payload(std::string(buffer_recycler::min_size + 10, 'p'));
  ASSERT_NE(payload.shared(), nullptr);
  auto in_flight = payload.shared();  // a write still holds it
  const char* memory = in_flight->bytes.data();
  payload = shared_payload();
  EXPECT_EQ(recycler.bytes_held(), 0u);
  in_flight.reset();
  EXPECT_GE(recycler.bytes_held(), buffer_recycler::min_size + 10);
  EXPECT_EQ(recycler.take(buffer_recycler::min_size).data(), memory);
}

// An unmasked server frame: FIN, binary, 64-bit length.
std::string server_binary_frame(std::size_t size) {
  std::string frame = {'\x82', '\x7f'};
  for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xff);
  frame.append(size, 'b');
  return frame;
}

TEST_F(BufferRecyclerTest, ALargeInboundPayloadIsParsedIntoRecycledMemoryWholeOrSplit) {
  const std::size_t size = buffer_recycler::min_size + 100;
  const std::string frame = server_binary_frame(size);
  for (std::size_t split : {frame.size(), std::size_t{2000}}) {  // in one read, then in two
    std::string given;
    given.reserve(size * 2);
    const char* memory = given.data();
    recycler.give(std::move(given));
    frame_parser parser(1 << 20);
    std::vector<inbound_event> events;
    ASSERT_EQ(parser.feed(frame.data(), split, events), parse_error::none);
    ASSERT_EQ(parser.feed(frame.data() + split, frame.size() - split, events), parse_error::none);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, std::string(size, 'b'));
    EXPECT_EQ(events[0].payload.data(), memory) << "split at " << split;
    EXPECT_EQ(recycler.bytes_held(), 0u);
  }
}

}  // namespace
}  // namespace rws
