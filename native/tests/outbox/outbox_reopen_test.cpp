// Reopening a file outbox: recovery hands each pending record to the outbox as it reads it
// (keep_payloads false), and the log keeps only seqs and segments, not a second copy of them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "outbox/outbox.hpp"
#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers

// Writes `count` records (keys "key-<n>", some binary, some large) across several segments and
// marks `delivered` of them delivered.
void write_records(file_system& fs, const std::string& dir, std::size_t count, const std::vector<std::uint64_t>& delivered) {
  outbox_log_options options;
  options.segment_bytes = 1 << 10;  // several segments
  auto o = open_log(fs, dir, options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  for (std::size_t n = 1; n <= count; n += 10) {
    auto batch = make_batch(n, 10, n == 41 ? 20000 : 0);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
  }
  for (const std::uint64_t seq : delivered) ASSERT_FALSE(o.log->mark_delivered(seq));
  ASSERT_FALSE(o.log->close());
}

TEST_F(OutboxLog, WithoutKeepPayloadsRecoveryHandsEachPendingRecordOverAndKeepsOnlyItsPlace) {
  write_records(fs_, tmp_.outbox(), 100, {1, 2, 50, 99});
  ASSERT_GT(segment_files(tmp_.outbox()).size(), 2u);

  std::vector<outbox_entry> handed;
  outbox_log_options options;
  options.keep_payloads = false;
  options.segment_bytes = 1 << 10;
  options.take_recovered = [&](const recovered_record& r) {
    handed.push_back({r.seq, std::string(r.key), std::string(r.payload), r.binary});
  };
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.report.records_pending, 96u);
  EXPECT_TRUE(o.log->pending().empty());  // no second copy
  EXPECT_EQ(o.log->pending_bytes(), 0u);
  EXPECT_EQ(o.log->pending_count(), 96u);
  ASSERT_EQ(handed.size(), 96u);
  std::uint64_t expected = 0;
  for (const auto& e : handed) {
    do ++expected;
    while (expected == 1 || expected == 2 || expected == 50 || expected == 99);
    EXPECT_EQ(e.seq, expected);
    EXPECT_EQ(e.key, "key-" + std::to_string(expected));
    EXPECT_EQ(e.payload, payload_for(expected, expected >= 41 && expected <= 50 ? 20000 : 0));
    EXPECT_EQ(e.binary, expected % 3 == 0);
  }

  // The log still knows which segment holds each one: delivering them all frees every segment
  // but the active one, and a second reopen finds nothing pending.
  for (const auto& e : handed) ASSERT_FALSE(o.log->mark_delivered(e.seq));
  EXPECT_EQ(o.log->pending_count(), 0u);
  EXPECT_EQ(segment_files(tmp_.outbox()).size(), 1u);
  ASSERT_FALSE(o.log->close());
  o.log.reset();
  handed.clear();
  auto again = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(again.ec) << again.ec.message();
  EXPECT_EQ(again.report.records_pending, 0u);
  EXPECT_TRUE(handed.empty());
  EXPECT_EQ(again.log->next_seq(), 101u);
}

class OutboxReopen : public OutboxLog {
 protected:
  OutboxReopen() { config.path = tmp_.outbox(); }
  outbox_config config;
  failure corrupt;
  static outbox::poster run_inline() {
    return [](std::function<void()> f) { f(); };
  }
  // An outbox in the directory that sends `count` messages (keys "k-<n>" when `keyed`), makes
  // them durable and closes, leaving them all pending for the next one.
  void write_and_close(int count, bool keyed) {
    outbox box(config);
    ASSERT_FALSE(box.open(corrupt, run_inline()));
    std::vector<outgoing_message> batch;
    for (int n = 1; n <= count; ++n) {
      outgoing_message m{"{\"n\":" + std::to_string(n) + "}", {}, false};
      if (keyed) m.key = "k-" + std::to_string(n);
      batch.push_back(std::move(m));
    }
    std::vector<sent_receipt> accepted, persisted;
    std::vector<send_outcome> rejected;
    box.accept(batch, 1, accepted, rejected);
    ASSERT_EQ(accepted.size(), static_cast<std::size_t>(count));
    box.sync_appended(persisted, rejected);
    ASSERT_TRUE(rejected.empty());
    box.close();
  }
};

TEST_F(OutboxReopen, RecoveredMessagesGoOutAgainInOrder) {
  write_and_close(3, false);
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, run_inline()));
  EXPECT_EQ(box.size(), 3u);
  for (int n = 1; n <= 3; ++n) {
    const outbox_item* item = box.next_to_send();
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->seq, static_cast<std::uint64_t>(n));
    EXPECT_EQ(item->payload.plain(), "{\"n\":" + std::to_string(n) + "}");
    EXPECT_EQ(item->request, 0u);  // nobody in this process waits on it
    std::vector<sent_receipt> delivered;
    box.written_upto(item->seq, delivered);
  }
  EXPECT_EQ(box.next_to_send(), nullptr);
  box.close();
}

TEST_F(OutboxReopen, TheAckedModeStillFindsARecoveredMessageByItsKey) {
  config.guarantee = delivery_guarantee::acked;
  write_and_close(2, true);
  outbox box(config);
  ASSERT_FALSE(box.open(corrupt, run_inline()));
  EXPECT_EQ(box.size(), 2u);
  std::vector<sent_receipt> delivered;
  EXPECT_TRUE(box.acknowledge("k-2", delivered));
  EXPECT_FALSE(box.acknowledge("k-3", delivered));
  EXPECT_TRUE(box.acknowledge("k-1", delivered));
  EXPECT_EQ(box.size(), 0u);
  box.close();
}

TEST_F(OutboxReopen, EachRecordHoldsItsSendersKeyOrTheGeneratedOne) {
  // Outside 'acked' and keyField a message keeps no generated key: its record gets one made as
  // it is written, the same string the receipt names.
  std::string prefix;
  {
    outbox box(config);
    ASSERT_FALSE(box.open(corrupt, run_inline()));
    prefix = std::string(box.key_prefix());
    std::vector<outgoing_message> batch;
    batch.push_back({"a", {}, false});
    batch.push_back({"b", "mine", false});
    batch.push_back({"c", {}, true});
    std::vector<sent_receipt> accepted, persisted;
    std::vector<send_outcome> rejected;
    box.accept(batch, 1, accepted, rejected);
    ASSERT_EQ(accepted.size(), 3u);
    box.sync_appended(persisted, rejected);
    ASSERT_TRUE(rejected.empty());
    box.close();
  }
  std::vector<outbox_entry> recovered;
  outbox_log_options options;
  options.keep_payloads = false;
  options.take_recovered = [&](const recovered_record& r) {
    recovered.push_back({r.seq, std::string(r.key), std::string(r.payload), r.binary});
  };
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  ASSERT_EQ(recovered.size(), 3u);
  EXPECT_EQ(recovered[0].key, prefix + "-000000000001");
  EXPECT_EQ(recovered[1].key, "mine");
  EXPECT_EQ(recovered[2].key, prefix + "-000000000003");
  EXPECT_EQ(recovered[2].payload, "c");
  EXPECT_TRUE(recovered[2].binary);
  ASSERT_FALSE(o.log->close());
}

}  // namespace
}  // namespace rws
