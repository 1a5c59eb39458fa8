// The outbox log under real kill -9, and the reopen timing of a million records.
#include "tests/outbox/outbox_log_test_support.hpp"

namespace rws {
namespace {

using namespace outbox_test;  // NOLINT: test helpers
// ---- Crashes: kill -9 in the middle of a stream of durable sends ------------------------------

TEST_F(OutboxLog, KillDashNineNeverLosesAnAcknowledgedRecord) {
  std::mt19937 rng(2024);
  std::uint64_t acknowledged_total = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      posix_file_system fs;
      std::error_code ec;
      outbox_recovery_report report;
      auto log = outbox_log::open(fs, tmp_.outbox(), ec, report);
      if (!log) ::_exit(2);
      std::uint64_t size = 1;
      for (;;) {
        auto batch = make_batch(log->next_seq(), size, 50);
        size = size % 17 + 1;
        if (log->append(batch) || log->sync()) ::_exit(3);
        const std::uint64_t last = batch.back().seq;
        // Reported only after sync() returned: this is what send() resolving means.
        if (::write(fds[1], &last, sizeof last) != sizeof last) ::_exit(4);
      }
    }
    ::close(fds[1]);
    const int acks_before_kill = 3 + static_cast<int>(rng() % 30);
    std::uint64_t acknowledged = 0;
    for (int i = 0; i < acks_before_kill; ++i) {
      std::uint64_t seq;
      if (::read(fds[0], &seq, sizeof seq) != sizeof seq) break;
      acknowledged = seq;
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::uint64_t seq;
    while (::read(fds[0], &seq, sizeof seq) == sizeof seq) acknowledged = seq;
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec) << o.ec.message();
    const auto& pending = o.log->pending();
    ASSERT_GE(pending.size(), acknowledged);
    for (std::size_t i = 0; i < pending.size(); ++i) {
      ASSERT_EQ(pending[i].seq, i + 1);  // no gaps, in order
      ASSERT_EQ(pending[i].payload, payload_for(i + 1, 50));
    }
    EXPECT_EQ(o.log->next_seq(), pending.size() + 1);
    acknowledged_total = acknowledged;
  }
  std::printf("[ info     ] kill -9 rounds: %llu records acknowledged, all recovered\n",
              static_cast<unsigned long long>(acknowledged_total));
}

// ---- Speed (printed, not asserted: absolute numbers on a shared machine are noise) ------------

TEST_F(OutboxLog, ReopenOneMillionRecordsTiming) {
  constexpr std::uint64_t total = 1'000'000;
  idempotency_key_generator keys;
  {
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    std::vector<outbox_entry> batch(10'000);
    const std::string payload(100, 'p');
    for (std::uint64_t written = 0; written < total; written += batch.size()) {
      for (auto& e : batch) {
        e.key = keys.next();
        e.payload = payload;
      }
      ASSERT_FALSE(o.log->append(batch));
    }
  }
  const auto disk = segment_bytes_on_disk(tmp_.outbox());
  const auto start = std::chrono::steady_clock::now();
  auto o = open_log(fs_, tmp_.outbox());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ec);
  ASSERT_EQ(o.log->pending().size(), total);
  EXPECT_EQ(o.log->pending().back().seq, total);
  std::printf("[ info     ] reopen of %llu pending records (%.1f MB in %zu segments): %.0f ms\n",
              static_cast<unsigned long long>(total), static_cast<double>(disk) / 1e6,
              o.log->segment_count(),
              std::chrono::duration<double, std::milli>(elapsed).count());

  // Append + sync throughput on this disk (group commit vs one sync per message).
  o.log->close();
  temp_dir other;
  auto t = open_log(fs_, other.outbox());
  ASSERT_FALSE(t.ec);
  for (const std::size_t group : {1u, 100u}) {
    const int groups = group == 1 ? 200 : 100;
    const auto t0 = std::chrono::steady_clock::now();
    for (int g = 0; g < groups; ++g) {
      auto batch = make_batch(1, group, 100);
      ASSERT_FALSE(t.log->append(batch));
      ASSERT_FALSE(t.log->sync());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ info     ] append+sync, %zu records per sync: %.0f records/s (%.2f ms per sync)\n",
                group, static_cast<double>(group * groups) / seconds, seconds * 1e3 / groups);
  }
}

}  // namespace
}  // namespace rws
