#include "transport/block_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace rws {
namespace {

TEST(BlockPool, RoundsTheBlockSizeUpToSixteenAndRefusesSizesOutOfRange) {
  EXPECT_EQ(block_pool(1).block_size(), 16u);
  EXPECT_EQ(block_pool(152).block_size(), 160u);
  EXPECT_EQ(block_pool(160).block_size(), 160u);
  EXPECT_THROW(block_pool(0), std::invalid_argument);
  EXPECT_THROW(block_pool(block_pool::slab_size), std::invalid_argument);
}

// Enough blocks for several slabs: each is distinct, aligned, inside no other, and holds what
// was written to it while the others are written too.
TEST(BlockPool, HandsOutDistinctAlignedBlocksThatKeepTheirContents) {
  block_pool pool(152);
  std::vector<unsigned char*> blocks;
  for (int i = 0; i < 2000; i++) {
    auto* b = static_cast<unsigned char*>(pool.allocate());
    std::memset(b, i & 0xff, 152);
    blocks.push_back(b);
  }
  EXPECT_GE(pool.slab_count(), 2000u * 160 / block_pool::slab_size);
  EXPECT_EQ(pool.blocks_in_use(), 2000u);
  std::vector<unsigned char*> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i + 1 < sorted.size(); i++) EXPECT_GE(sorted[i + 1] - sorted[i], 160);
  for (std::size_t i = 0; i < blocks.size(); i++) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks[i]) % block_pool::block_alignment, 0u);
    EXPECT_EQ(blocks[i][0], i & 0xff);
    EXPECT_EQ(blocks[i][151], i & 0xff);
  }
  for (auto* b : blocks) pool.deallocate(b);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

// Freed slabs go back to the system, but for one kept for the next block.
TEST(BlockPool, GivesBackEmptySlabsButOne) {
  block_pool pool(256);
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; i++) blocks.push_back(pool.allocate());
  const std::size_t mapped = pool.slab_count();
  ASSERT_GE(mapped, 3u);
  for (void* b : blocks) pool.deallocate(b);
  EXPECT_EQ(pool.slab_count(), 1u);
  // The kept slab serves the next block without mapping another.
  void* again = pool.allocate();
  EXPECT_EQ(pool.slab_count(), 1u);
  pool.deallocate(again);
  EXPECT_EQ(pool.slab_count(), 1u);
}

// One block taken and freed over and over (a socket reconnecting) maps no slab after the first.
TEST(BlockPool, AReconnectingSocketDoesNotMapASlabPerAttempt) {
  block_pool pool(176);
  void* first = pool.allocate();
  for (int i = 0; i < 10000; i++) {
    void* b = pool.allocate();
    pool.deallocate(b);
  }
  EXPECT_EQ(pool.slab_count(), 1u);
  pool.deallocate(first);
  EXPECT_EQ(pool.slab_count(), 1u);
}

// A freed block is reused before untouched ones, so the pool's resident pages follow its use.
TEST(BlockPool, ReusesAFreedBlockFirst) {
  block_pool pool(64);
  void* a = pool.allocate();
  void* b = pool.allocate();
  pool.deallocate(a);
  EXPECT_EQ(pool.allocate(), a);
  pool.deallocate(a);
  pool.deallocate(b);
}

// A full slab that gets a block back has room again.
TEST(BlockPool, AFullSlabWithAFreedBlockServesTheNextOne) {
  block_pool pool(block_pool::slab_size / 4);
  std::vector<void*> blocks;
  while (pool.slab_count() < 2) blocks.push_back(pool.allocate());
  // blocks.back() opened the second slab; the ones before it filled the first.
  void* from_first = blocks.front();
  pool.deallocate(from_first);
  std::set<void*> handed;
  for (int i = 0; i < 8; i++) handed.insert(pool.allocate());
  EXPECT_TRUE(handed.count(from_first));
  for (void* b : handed) pool.deallocate(b);
  for (std::size_t i = 1; i < blocks.size(); i++) pool.deallocate(blocks[i]);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

// Blocks taken on one thread and freed on others (a connection's last holder may be any thread).
TEST(BlockPool, BlocksFreedOnOtherThreadsAreAccountedFor) {
  block_pool pool(160);
  constexpr int threads = 4, per_thread = 3000;
  std::vector<std::vector<void*>> taken(threads);
  for (auto& list : taken) {
    for (int i = 0; i < per_thread; i++) list.push_back(pool.allocate());
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&pool, &taken, t] {
      for (void* b : taken[t]) {
        pool.deallocate(b);
        pool.deallocate(pool.allocate());
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.slab_count(), 1u);
}

struct pooled_thing {
  explicit pooled_thing(int v) : value(v) {}
  int value;
  char bytes[140] = {};
};

// allocate_shared puts the object and its counts in one block of the pool of that size.
TEST(PooledAllocator, AllocateSharedTakesOneBlockAndGivesItBack) {
  std::shared_ptr<pooled_thing> thing = std::allocate_shared<pooled_thing>(pooled_allocator<pooled_thing>{}, 7);
  EXPECT_EQ(thing->value, 7);
  std::weak_ptr<pooled_thing> weak = thing;
  thing.reset();
  EXPECT_TRUE(weak.expired());
  weak.reset();
  // Two at once get a block each.
  auto a = std::allocate_shared<pooled_thing>(pooled_allocator<pooled_thing>{}, 1);
  auto b = std::allocate_shared<pooled_thing>(pooled_allocator<pooled_thing>{}, 2);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(a->value + b->value, 3);
}

}  // namespace
}  // namespace rws
