#include "common/lazy_deque.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace rws {
namespace {

TEST(LazyDequeTest, NothingAddedIsAnEmptyRangeToSearchAndIterate) {
  lazy_deque<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.begin(), q.end());
  EXPECT_EQ(std::lower_bound(q.begin(), q.end(), 3), q.end());
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(LazyDequeTest, BehavesAsADequeOnceSomethingWasAdded) {
  lazy_deque<std::string> q;
  for (const char* s : {"a", "b", "c", "d"}) q.push_back(s);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(q.front(), "a");
  EXPECT_EQ(q.back(), "d");
  EXPECT_EQ(q[2], "c");
  q.pop_front();
  q.pop_back();
  auto after = q.erase(q.begin());
  EXPECT_EQ(after, q.begin());
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.front(), "c");
  EXPECT_EQ(std::distance(q.begin(), q.end()), 1);
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back("again");
  EXPECT_EQ(q.back(), "again");
}

TEST(LazyDequeTest, ReleaseIfEmptyFreesAnEmptiedDequeAndKeepsAFullOne) {
  lazy_deque<int> q;
  q.release_if_empty();  // never made: nothing to do
  EXPECT_FALSE(q.holds_memory());
  for (int i = 0; i < 20000; ++i) q.push_back(int{i});
  q.release_if_empty();  // not empty: kept
  EXPECT_EQ(q.size(), 20000u);
  EXPECT_TRUE(q.holds_memory());
  while (!q.empty()) q.pop_front();
  EXPECT_TRUE(q.holds_memory());  // emptied, still allocated until asked
  q.release_if_empty();
  EXPECT_FALSE(q.holds_memory());
  EXPECT_EQ(q.begin(), q.end());  // the shared empty range again: nothing allocated
  q.push_back(7);
  EXPECT_EQ(q.front(), 7);
}

}  // namespace
}  // namespace rws
