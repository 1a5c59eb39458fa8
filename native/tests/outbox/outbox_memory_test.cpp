// The in-memory outbox before and after its first message. An idle socket's outbox holds no
// queue (it is made by the first message): every question to it must answer "empty" without
// making one, and the first message must then behave exactly as in an outbox that had a queue
// from the start.
#include "outbox/outbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace rws {
namespace {

std::vector<outgoing_message> one_message(std::string data, std::string key = {}) {
  std::vector<outgoing_message> batch;
  batch.push_back({std::move(data), std::move(key), false});
  return batch;
}

TEST(OutboxInMemory, OneThatNeverHeldAMessageAnswersEmpty) {
  outbox box(outbox_config{});
  failure corrupt;
  EXPECT_FALSE(box.open(corrupt, nullptr));
  EXPECT_FALSE(corrupt);
  EXPECT_FALSE(box.durable());
  EXPECT_EQ(box.size(), 0u);
  EXPECT_EQ(box.waiting(), 0u);
  EXPECT_EQ(box.room(), outbox_config{}.max_messages);
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_EQ(box.evicted(), 0u);
  EXPECT_EQ(box.torn_bytes(), 0u);
  EXPECT_EQ(box.disk_bytes(), 0u);
  EXPECT_FALSE(box.has_unsent());
  EXPECT_FALSE(box.needs_sync());
  EXPECT_EQ(box.next_to_send(), nullptr);
  box.rewind();
  box.release_idle_memory();
  std::vector<sent_receipt> none_delivered, persisted;
  std::vector<send_outcome> none_rejected;
  box.written_upto(5, none_delivered);
  box.abandon(none_rejected);
  box.sync_appended(persisted, none_rejected);
  EXPECT_TRUE(none_delivered.empty());
  EXPECT_TRUE(none_rejected.empty());
  EXPECT_TRUE(persisted.empty());
  EXPECT_EQ(box.key_prefix().size(), idempotency_key_size);

  // The first message after all that: seq 1, sent once, gone when written ('written' mode).
  std::vector<sent_receipt> accepted;
  std::vector<send_outcome> rejected;
  auto batch = one_message("hello");
  box.accept(batch, 7, accepted, rejected);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_TRUE(rejected.empty());
  EXPECT_EQ(accepted[0].request, 7u);
  EXPECT_EQ(accepted[0].seq, 1u);
  EXPECT_EQ(box.size(), 1u);
  EXPECT_EQ(box.bytes(), 5u);
  const outbox_item* item = box.next_to_send();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->seq, 1u);
  EXPECT_EQ(box.next_to_send(), nullptr);
  std::vector<sent_receipt> written, delivered;
  box.first_written_upto(1, written);
  box.written_upto(1, delivered);
  ASSERT_EQ(written.size(), 1u);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].request, 7u);
  EXPECT_EQ(box.size(), 0u);
  EXPECT_EQ(box.bytes(), 0u);
}

TEST(OutboxInMemory, AnAckBeforeAnySendMatchesNothingAndTheFirstSendIsAckable) {
  outbox_config config;
  config.guarantee = delivery_guarantee::acked;
  outbox box(config);
  std::vector<sent_receipt> delivered;
  EXPECT_FALSE(box.acknowledge("k-1", delivered));

  std::vector<sent_receipt> accepted;
  std::vector<send_outcome> rejected;
  auto batch = one_message("{}", "k-1");
  box.accept(batch, 1, accepted, rejected);
  ASSERT_EQ(accepted.size(), 1u);
  ASSERT_NE(box.next_to_send(), nullptr);
  std::vector<sent_receipt> written;
  box.first_written_upto(1, written);
  box.written_upto(1, delivered);  // 'acked': being written is not enough
  EXPECT_TRUE(delivered.empty());
  EXPECT_EQ(box.size(), 1u);
  EXPECT_TRUE(box.acknowledge("k-1", delivered));
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(box.size(), 0u);

  // A duplicate key is refused only while the first one waits.
  auto waiting = one_message("{}", "k-2");
  box.accept(waiting, 2, accepted, rejected);
  auto duplicate = one_message("{}", "k-2");
  box.accept(duplicate, 3, accepted, rejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].request, 3u);
  EXPECT_EQ(rejected[0].error.code, failure_code::invalid_option);
  auto again = one_message("{}", "k-1");
  box.accept(again, 4, accepted, rejected);
  EXPECT_EQ(rejected.size(), 1u);
}

TEST(OutboxInMemory, TheFirstMessageTakesItsSeqFromTheSharedCounter) {
  // Direct writes by the JavaScript thread draw seqs from the same counter: the outbox must not
  // restart at 1 when its queue is made after some of them.
  std::atomic<std::uint64_t> counter{41};
  outbox box(outbox_config{});
  box.share_seq_counter(&counter);
  std::vector<sent_receipt> accepted;
  std::vector<send_outcome> rejected;
  auto batch = one_message("x");
  box.accept(batch, 1, accepted, rejected);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].seq, 41u);
  EXPECT_EQ(counter.load(), 42u);
}

TEST(OutboxInMemory, ClosingOneThatNeverHeldAMessageRejectsNothing) {
  outbox box(outbox_config{});
  std::vector<send_outcome> rejected;
  box.abandon(rejected);
  box.close();
  EXPECT_TRUE(rejected.empty());

  // One that did hold messages still rejects those never delivered.
  outbox used(outbox_config{});
  std::vector<sent_receipt> accepted;
  auto batch = one_message("a");
  used.accept(batch, 3, accepted, rejected);
  used.abandon(rejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].request, 3u);
  EXPECT_EQ(rejected[0].error.code, failure_code::closed);
  EXPECT_EQ(used.size(), 0u);
}

}  // namespace
}  // namespace rws
