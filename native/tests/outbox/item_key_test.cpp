// outbox_item's key in one pointer: empty until assigned, any bytes, and movable with the item.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "outbox/outbox.hpp"

namespace rws {
namespace {

TEST(ItemKey, HoldsWhatWasAssignedAndNothingBefore) {
  item_key key;
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(key.view(), "");
  key.assign("k-1");
  EXPECT_FALSE(key.empty());
  EXPECT_EQ(key.view(), "k-1");
  const std::string long_key(65535, 'x');  // the longest key a record holds
  key.assign(long_key);
  EXPECT_EQ(key.view(), long_key);
  key.assign(std::string("a\0b", 3));  // bytes, not a C string
  EXPECT_EQ(key.view(), std::string_view("a\0b", 3));
  key.assign("");
  EXPECT_TRUE(key.empty());
}

TEST(ItemKey, MovesWithItsItemAndKeepsTheItemSmall) {
  outbox_item item;
  item.key.assign("mine");
  outbox_item moved = std::move(item);
  EXPECT_EQ(moved.key.view(), "mine");
  EXPECT_TRUE(item.key.empty());  // NOLINT(bugprone-use-after-move): a moved-from key is empty
  static_assert(sizeof(item_key) == sizeof(void*));
}

}  // namespace
}  // namespace rws
