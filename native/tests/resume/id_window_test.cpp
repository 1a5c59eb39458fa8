#include "resume/id_window.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace rws {
namespace {

TEST(IdWindow, RemembersInsertedIds) {
  id_window window(3);
  EXPECT_EQ(window.size(), 0u);
  EXPECT_EQ(window.capacity(), 3u);
  EXPECT_FALSE(window.contains("a"));
  window.insert("a");
  window.insert("b");
  EXPECT_TRUE(window.contains("a"));
  EXPECT_TRUE(window.contains("b"));
  EXPECT_FALSE(window.contains("c"));
  EXPECT_FALSE(window.contains(""));
  EXPECT_EQ(window.size(), 2u);
}

TEST(IdWindow, EvictsOldestFirst) {
  id_window window(3);
  window.insert("1");
  window.insert("2");
  window.insert("3");
  window.insert("4");  // evicts 1
  EXPECT_FALSE(window.contains("1"));
  EXPECT_TRUE(window.contains("2"));
  EXPECT_TRUE(window.contains("3"));
  EXPECT_TRUE(window.contains("4"));
  window.insert("5");  // evicts 2
  EXPECT_FALSE(window.contains("2"));
  EXPECT_TRUE(window.contains("3"));
  EXPECT_EQ(window.size(), 3u);
}

TEST(IdWindow, DuplicateInsertIsNoOpAndKeepsOrder) {
  id_window window(3);
  window.insert("a");
  window.insert("b");
  window.insert("a");  // already there: not refreshed, not counted twice
  EXPECT_EQ(window.size(), 2u);
  window.insert("c");
  window.insert("d");  // evicts "a", the oldest insertion
  EXPECT_FALSE(window.contains("a"));
  EXPECT_TRUE(window.contains("b"));
  EXPECT_TRUE(window.contains("c"));
  EXPECT_TRUE(window.contains("d"));
}

TEST(IdWindow, LookupDoesNotRefresh) {
  id_window window(2);
  window.insert("a");
  window.insert("b");
  EXPECT_TRUE(window.contains("a"));
  window.insert("c");  // FIFO, not LRU: "a" goes despite the lookup
  EXPECT_FALSE(window.contains("a"));
  EXPECT_TRUE(window.contains("b"));
}

TEST(IdWindow, CapacityOne) {
  id_window window(1);
  window.insert("x");
  EXPECT_TRUE(window.contains("x"));
  window.insert("y");
  EXPECT_FALSE(window.contains("x"));
  EXPECT_TRUE(window.contains("y"));
  EXPECT_EQ(window.size(), 1u);
  window.insert("y");
  EXPECT_EQ(window.size(), 1u);
}

TEST(IdWindow, CapacityZeroRemembersNothing) {
  id_window window(0);
  window.insert("x");
  EXPECT_FALSE(window.contains("x"));
  EXPECT_EQ(window.size(), 0u);
}

TEST(IdWindow, DefaultCapacityIsTenThousand) {
  id_window window;
  EXPECT_EQ(window.capacity(), 10000u);
}

TEST(IdWindow, ManyInsertsStayBounded) {
  id_window window(1000);
  // Mix short (SSO) and long (heap) ids: views into both must survive eviction.
  auto id_for = [](int i) {
    return (i % 2 == 0) ? std::to_string(i) : "a-rather-long-event-id-" + std::to_string(i);
  };
  for (int i = 0; i < 200'000; ++i) {
    window.insert(id_for(i));
    ASSERT_LE(window.size(), 1000u);
  }
  EXPECT_EQ(window.size(), 1000u);
  for (int i = 199'000; i < 200'000; ++i) ASSERT_TRUE(window.contains(id_for(i))) << i;
  for (int i = 0; i < 199'000; i += 997) ASSERT_FALSE(window.contains(id_for(i))) << i;
}

TEST(IdWindow, Clear) {
  id_window window(4);
  window.insert("a");
  window.insert("b");
  window.clear();
  EXPECT_EQ(window.size(), 0u);
  EXPECT_FALSE(window.contains("a"));
  window.insert("a");
  EXPECT_TRUE(window.contains("a"));
  EXPECT_EQ(window.size(), 1u);
}

TEST(IdWindow, MoveKeepsLookupsValid) {
  id_window source(3);
  source.insert("short");
  source.insert("an-id-long-enough-to-live-on-the-heap");
  id_window moved(std::move(source));
  EXPECT_TRUE(moved.contains("short"));
  EXPECT_TRUE(moved.contains("an-id-long-enough-to-live-on-the-heap"));
  id_window assigned(1);
  assigned = std::move(moved);
  EXPECT_TRUE(assigned.contains("short"));
  assigned.insert("x");
  assigned.insert("y");  // evicts "short" through the moved structures
  EXPECT_FALSE(assigned.contains("short"));
  EXPECT_EQ(assigned.size(), 3u);
}

TEST(IdWindow, IdsAreExactBytes) {
  id_window window(4);
  window.insert(std::string("a\0b", 3));
  EXPECT_TRUE(window.contains(std::string_view("a\0b", 3)));
  EXPECT_FALSE(window.contains("a"));
  window.insert("1");
  EXPECT_FALSE(window.contains("01"));
  EXPECT_FALSE(window.contains("1.0"));
}

TEST(NumericIdGap, DetectsMissingIds) {
  EXPECT_EQ(numeric_id_gap("1", "2"), 0u);
  EXPECT_EQ(numeric_id_gap("1", "3"), 1u);
  EXPECT_EQ(numeric_id_gap("10", "15"), 4u);
  EXPECT_EQ(numeric_id_gap("0", "1000000"), 999999u);
  EXPECT_EQ(numeric_id_gap("007", "10"), 2u);  // leading zeros read as decimal
}

TEST(NumericIdGap, EqualOrDecreasingIsNoGap) {
  EXPECT_EQ(numeric_id_gap("5", "5"), 0u);
  EXPECT_EQ(numeric_id_gap("5", "4"), 0u);
  EXPECT_EQ(numeric_id_gap("1000", "1"), 0u);
}

TEST(NumericIdGap, NonNumericIsNoGap) {
  for (auto [a, b] : {std::pair{"1", "x"}, std::pair{"x", "3"}, std::pair{"", "3"},
                      std::pair{"1", ""}, std::pair{"-1", "3"}, std::pair{"1", "+3"},
                      std::pair{"1", "3.0"}, std::pair{"1", "3e2"}, std::pair{"1", " 3"},
                      std::pair{"1", "3 "}, std::pair{"a1", "a3"}, std::pair{"1", "0x10"}}) {
    EXPECT_EQ(numeric_id_gap(a, b), 0u) << a << " -> " << b;
  }
}

TEST(NumericIdGap, NineteenDigitLimit) {
  const std::string max19(19, '9');  // 9999999999999999999 < 2^64
  EXPECT_EQ(numeric_id_gap("0", max19), 9999999999999999998u);
  EXPECT_EQ(numeric_id_gap("9999999999999999997", max19), 1u);
  EXPECT_EQ(numeric_id_gap(max19, max19), 0u);
  EXPECT_EQ(numeric_id_gap("1", "10000000000000000000"), 0u);  // 20 digits: not numeric here
  EXPECT_EQ(numeric_id_gap("18446744073709551615", "18446744073709551617"), 0u);
}

}  // namespace
}  // namespace rws
