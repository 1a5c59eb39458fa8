#include "outbox/outbox_log.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "outbox/idempotency_key.hpp"
#include "outbox/outbox_record.hpp"
#include "tests/outbox/fault_injecting_file_system.hpp"

namespace rws {
namespace {

namespace stdfs = std::filesystem;

// A fresh directory per test, removed afterwards (also when an assertion fails).
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/rws-outbox-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    stdfs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string outbox() const { return path_ + "/outbox"; }

 private:
  std::string path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("seg-") && name.ends_with(".log")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::uint64_t segment_bytes_on_disk(const std::string& dir) {
  std::uint64_t total = 0;
  for (const auto& f : segment_files(dir)) total += stdfs::file_size(f);
  return total;
}

std::vector<std::string> quarantine_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".corrupt") != std::string::npos) {
      files.push_back(e.path().string());
    }
  }
  return files;
}

// Record start offsets of a segment file, plus its end.
std::vector<std::size_t> record_boundaries(std::string_view bytes) {
  std::vector<std::size_t> starts;
  std::size_t pos = 0;
  record_view rec;
  while (pos < bytes.size() && decode_record(bytes.substr(pos), rec) == decode_status::ok) {
    starts.push_back(pos);
    pos += rec.size;
  }
  starts.push_back(pos);
  return starts;
}

std::string payload_for(std::uint64_t n, std::size_t size = 0) {
  std::string p = "payload-" + std::to_string(n) + "-";
  if (size > p.size()) p.resize(size, static_cast<char>('a' + n % 26));
  return p;
}

std::vector<outbox_entry> make_batch(std::uint64_t first, std::size_t count,
                                     std::size_t payload_size = 0) {
  std::vector<outbox_entry> batch;
  for (std::uint64_t n = first; n < first + count; ++n) {
    outbox_entry e;
    e.key = "key-" + std::to_string(n);
    e.payload = payload_for(n, payload_size);
    e.binary = n % 3 == 0;
    batch.push_back(std::move(e));
  }
  return batch;
}

std::vector<std::string> payloads(const outbox_log& log) {
  std::vector<std::string> out;
  for (const auto& e : log.pending()) out.push_back(e.payload);
  return out;
}

std::vector<std::string> expected_payloads(std::uint64_t first, std::uint64_t last_inclusive,
                                           std::size_t payload_size = 0) {
  std::vector<std::string> out;
  for (std::uint64_t n = first; n <= last_inclusive; ++n) out.push_back(payload_for(n, payload_size));
  return out;
}

struct opened {
  std::unique_ptr<outbox_log> log;
  outbox_recovery_report report;
  std::error_code ec;
};

opened open_log(file_system& fs, const std::string& dir, outbox_log_options options = {}) {
  opened o;
  o.log = outbox_log::open(fs, dir, o.ec, o.report, options);
  return o;
}

outbox_log_options no_fsync() {
  outbox_log_options options;
  options.fsync = fsync_policy::none;
  return options;
}

class OutboxLog : public ::testing::Test {
 protected:
  posix_file_system fs_;
  temp_dir tmp_;
};

TEST_F(OutboxLog, AppendSyncReopenKeepsEverythingInOrder) {
  {
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec) << o.ec.message();
    EXPECT_EQ(o.report.records_recovered, 0u);
    EXPECT_EQ(o.log->next_seq(), 1u);
    auto a = make_batch(1, 3);
    auto b = make_batch(4, 1);
    auto c = make_batch(5, 4, 5000);
    c[0].payload.clear();  // empty payloads are messages too
    c[1].key.clear();
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(o.log->append(b));
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
    EXPECT_EQ(a[0].seq, 1u);
    EXPECT_EQ(c[3].seq, 8u);
    EXPECT_EQ(o.log->pending().size(), 8u);
    EXPECT_FALSE(o.log->close());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.report.records_recovered, 8u);
  EXPECT_EQ(o.report.records_pending, 8u);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
  const auto& p = o.log->pending();
  ASSERT_EQ(p.size(), 8u);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const std::uint64_t n = i + 1;
    EXPECT_EQ(p[i].seq, n);
    EXPECT_EQ(p[i].binary, n % 3 == 0);
    if (n == 5) {
      EXPECT_EQ(p[i].payload, "");
    } else {
      EXPECT_EQ(p[i].payload, payload_for(n, n >= 5 ? 5000 : 0));
    }
    EXPECT_EQ(p[i].key, n == 6 ? "" : "key-" + std::to_string(n));
  }
  EXPECT_EQ(o.log->next_seq(), 9u);
  EXPECT_EQ(o.log->disk_bytes(), segment_bytes_on_disk(tmp_.outbox()));
}

TEST_F(OutboxLog, SeqsContinueAfterReopenEvenWhenEverythingWasDelivered) {
  outbox_log_options options;
  options.idle_rotate_bytes = 1;  // replace the segment as soon as nothing is pending
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 100);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_FALSE(o.log->mark_delivered(s));
    EXPECT_TRUE(o.log->pending().empty());
    // Only a fresh segment holding nothing but its segment-start record is left.
    EXPECT_EQ(o.log->segment_count(), 1u);
    EXPECT_EQ(o.log->disk_bytes(), outbox_record_header_size);
  }
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    EXPECT_TRUE(o.log->pending().empty());
    EXPECT_EQ(o.log->next_seq(), 101u);
    auto batch = make_batch(101, 2);
    ASSERT_FALSE(o.log->append(batch));
    EXPECT_EQ(batch[0].seq, 101u);
    EXPECT_EQ(batch[1].seq, 102u);
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(o.log->next_seq(), 103u);
  EXPECT_EQ(payloads(*o.log), expected_payloads(101, 102));
}

TEST_F(OutboxLog, DeliveredAndDroppedRecordsAreNotPendingAfterReopen) {
  {
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 10);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    // In order, out of order (acks), twice, unknown: all fine.
    EXPECT_FALSE(o.log->mark_delivered(1));
    EXPECT_FALSE(o.log->mark_delivered(5));
    EXPECT_FALSE(o.log->mark_delivered(3));
    EXPECT_FALSE(o.log->mark_delivered(3));
    EXPECT_FALSE(o.log->mark_delivered(999));
    EXPECT_FALSE(o.log->drop(2));
    EXPECT_EQ(o.log->dropped_count(), 1u);
    EXPECT_EQ(o.log->pending().size(), 6u);
    std::uint64_t bytes = 0;
    for (std::uint64_t n : {4, 6, 7, 8, 9, 10}) bytes += payload_for(n).size();
    EXPECT_EQ(o.log->pending_bytes(), bytes);
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{4, 6, 7, 8, 9, 10}));
  EXPECT_EQ(o.report.records_recovered, 10u);
  EXPECT_EQ(o.report.records_pending, 6u);
}

TEST_F(OutboxLog, DiskUseStaysBoundedOver200kRecords) {
  outbox_log_options options = no_fsync();  // the bound is about rotation, not durability
  options.segment_bytes = 64 << 10;
  options.idle_rotate_bytes = 16 << 10;
  std::uint64_t n = 1;
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    std::size_t max_segments = 0;
    std::uint64_t max_bytes = 0;
    // Phase 1: the network keeps up — everything is delivered right after it is written.
    for (int round = 0; round < 1000; ++round) {
      auto batch = make_batch(n, 100, 40);
      n += 100;
      ASSERT_FALSE(o.log->append(batch));
      ASSERT_FALSE(o.log->sync());
      for (const auto& e : batch) ASSERT_FALSE(o.log->mark_delivered(e.seq));
      max_segments = std::max(max_segments, o.log->segment_count());
      max_bytes = std::max(max_bytes, o.log->disk_bytes());
    }
    EXPECT_LE(max_segments, 2u);
    EXPECT_LE(max_bytes, 2u * options.segment_bytes);
    // Phase 2: acks lag 1,000 messages behind.
    for (int round = 0; round < 1000; ++round) {
      auto batch = make_batch(n, 100, 40);
      n += 100;
      ASSERT_FALSE(o.log->append(batch));
      ASSERT_FALSE(o.log->sync());
      while (o.log->pending().size() > 1000) {
        ASSERT_FALSE(o.log->mark_delivered(o.log->pending().front().seq));
      }
      max_segments = std::max(max_segments, o.log->segment_count());
      max_bytes = std::max(max_bytes, o.log->disk_bytes());
    }
    EXPECT_LE(max_segments, 5u);
    EXPECT_LE(max_bytes, 5u * options.segment_bytes);
    EXPECT_EQ(o.log->disk_bytes(), segment_bytes_on_disk(tmp_.outbox()));
    EXPECT_EQ(segment_files(tmp_.outbox()).size(), o.log->segment_count());
    std::printf("[ info     ] 200k records: at most %zu segments, %llu bytes on disk\n",
                max_segments, static_cast<unsigned long long>(max_bytes));
  }
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), expected_payloads(n - 1000, n - 1, 40));
  EXPECT_EQ(o.log->next_seq(), n);
}

TEST_F(OutboxLog, SecondOpenIsRefusedWhileLocked) {
  auto first = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(first.ec);
  auto second = open_log(fs_, tmp_.outbox());
  EXPECT_EQ(second.log, nullptr);
  EXPECT_EQ(second.ec, make_error_code(outbox_errc::locked));
  EXPECT_NE(second.ec.message().find("another socket or process"), std::string::npos);
  first.log->close();
  auto third = open_log(fs_, tmp_.outbox());
  EXPECT_FALSE(third.ec);
  EXPECT_NE(third.log, nullptr);
}

TEST_F(OutboxLog, SecondOpenFromAnotherProcessIsRefused) {
  auto first = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(first.ec);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    posix_file_system fs;
    std::error_code ec;
    outbox_recovery_report report;
    auto log = outbox_log::open(fs, tmp_.outbox(), ec, report);
    ::_exit(log == nullptr && ec == make_error_code(outbox_errc::locked) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child could open a locked outbox";
}

TEST_F(OutboxLog, FilesAreOwnerOnly) {
  const mode_t old_umask = ::umask(0);  // the modes must not depend on the umask
  {
    auto o = open_log(fs_, tmp_.outbox() + "/nested");
    ASSERT_FALSE(o.ec);
    auto batch = make_batch(1, 1);
    ASSERT_FALSE(o.log->append(batch));
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(write_file_atomic(fs_, o.log->directory_fd(), "last-event-id", "42"));
  }
  ::umask(old_umask);
  auto mode_of = [](const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode_of(tmp_.outbox()), 0700u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested"), 0700u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested/LOCK"), 0600u);
  EXPECT_EQ(mode_of(tmp_.outbox() + "/nested/last-event-id"), 0600u);
  const auto segments = segment_files(tmp_.outbox() + "/nested");
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(mode_of(segments[0]), 0600u);
}

TEST_F(OutboxLog, SmallFilesBesideTheOutbox) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  std::string value;
  const int dir = o.log->directory_fd();
  EXPECT_EQ(read_small_file(fs_, dir, "last-event-id", value),
            std::errc::no_such_file_or_directory);
  ASSERT_FALSE(write_file_atomic(fs_, dir, "last-event-id", "evt-1"));
  ASSERT_FALSE(write_file_atomic(fs_, dir, "last-event-id", "evt-2"));
  ASSERT_FALSE(read_small_file(fs_, dir, "last-event-id", value));
  EXPECT_EQ(value, "evt-2");
  EXPECT_EQ(read_small_file(fs_, dir, "last-event-id", value, 3),
            make_error_code(outbox_errc::file_too_large));
  EXPECT_FALSE(stdfs::exists(tmp_.outbox() + "/last-event-id.tmp"));
  o.log.reset();
  // Foreign files in the directory are left alone by recovery.
  auto again = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(again.ec);
  ASSERT_FALSE(read_small_file(fs_, again.log->directory_fd(), "last-event-id", value));
  EXPECT_EQ(value, "evt-2");
}

TEST_F(OutboxLog, RejectsOversizedRecordsWithoutWriting) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  const auto bytes = o.log->disk_bytes();
  auto batch = make_batch(1, 2);
  batch[1].key.assign(outbox_max_key_size + 1, 'k');
  EXPECT_EQ(o.log->append(batch), make_error_code(outbox_errc::record_too_large));
  EXPECT_EQ(o.log->disk_bytes(), bytes);
  EXPECT_TRUE(o.log->pending().empty());
  EXPECT_EQ(o.log->next_seq(), 1u);
}

TEST_F(OutboxLog, ClosedLogRefusesWork) {
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_FALSE(o.log->close());
  EXPECT_FALSE(o.log->close());
  auto batch = make_batch(1, 1);
  EXPECT_EQ(o.log->append(batch), make_error_code(outbox_errc::closed));
  EXPECT_EQ(o.log->sync(), make_error_code(outbox_errc::closed));
  EXPECT_EQ(o.log->mark_delivered(1), make_error_code(outbox_errc::closed));
}

// ---- Torn tails and damage (simulated crashes, as SQLite's crash tests do) --------------------

class OutboxLogDamage : public OutboxLog {
 protected:
  // A single segment: segment-start + 10 data records of varied sizes. Returns its bytes.
  std::string write_ten(outbox_log_options options = no_fsync()) {
    auto o = open_log(fs_, tmp_.outbox(), options);
    EXPECT_FALSE(o.ec);
    for (std::uint64_t n = 1; n <= 10; ++n) {
      auto batch = make_batch(n, 1, n * 7);
      EXPECT_FALSE(o.log->append(batch));
    }
    EXPECT_FALSE(o.log->sync());
    o.log->close();
    const auto segments = segment_files(tmp_.outbox());
    EXPECT_EQ(segments.size(), 1u);
    segment_ = segments.at(0);
    return read_bytes(segment_);
  }

  std::string segment_;
};

std::vector<std::string> ten_payloads_except(std::uint64_t skip_from, std::uint64_t skip_to) {
  std::vector<std::string> out;
  for (std::uint64_t n = 1; n <= 10; ++n) {
    if (n < skip_from || n > skip_to) out.push_back(payload_for(n, n * 7));
  }
  return out;
}

TEST_F(OutboxLogDamage, TruncatedAtEveryByteOfTheLastThreeRecords) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  ASSERT_EQ(starts.size(), 12u);  // segment-start, 10 records, end
  ASSERT_EQ(starts.back(), original.size());
  const std::size_t from = starts[starts.size() - 4];  // start of record 8
  int cases = 0;
  for (std::size_t cut = from; cut < original.size(); ++cut) {
    write_bytes(segment_, original.substr(0, cut));
    // Records whose last byte is before the cut survive, nothing else.
    std::size_t boundary_index = 0;
    while (starts[boundary_index + 1] <= cut) ++boundary_index;
    const std::uint64_t complete = boundary_index - 1;  // index 0 is the segment-start record
    const std::size_t boundary = starts[boundary_index];
    {
      auto o = open_log(fs_, tmp_.outbox(), no_fsync());
      ASSERT_FALSE(o.ec) << "cut " << cut << ": " << o.ec.message();
      EXPECT_EQ(payloads(*o.log), ten_payloads_except(complete + 1, 10)) << "cut " << cut;
      EXPECT_EQ(o.report.torn_bytes_truncated, cut - boundary) << "cut " << cut;
      EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
      EXPECT_EQ(stdfs::file_size(segment_), boundary);
      // And the log goes on from there.
      auto more = make_batch(100, 1);
      ASSERT_FALSE(o.log->append(more));
      EXPECT_EQ(more[0].seq, complete + 1);
    }
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    auto expected = ten_payloads_except(complete + 1, 10);
    expected.push_back(payload_for(100));
    EXPECT_EQ(payloads(*o.log), expected) << "cut " << cut;
    EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
    ++cases;
  }
  std::printf("[ info     ] %d torn-tail offsets checked\n", cases);
  EXPECT_TRUE(quarantine_files(tmp_.outbox()).empty());
}

TEST_F(OutboxLogDamage, TruncatedInsideTheSegmentStartRecord) {
  const std::string original = write_ten();
  for (std::size_t cut = 0; cut < outbox_record_header_size; ++cut) {
    write_bytes(segment_, original.substr(0, cut));
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec) << "cut " << cut;
    EXPECT_TRUE(o.log->pending().empty());
    EXPECT_EQ(o.report.torn_bytes_truncated, cut);
    auto batch = make_batch(1, 1);
    ASSERT_FALSE(o.log->append(batch));
    o.log->close();
    auto again = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(again.ec);
    EXPECT_EQ(payloads(*again.log), expected_payloads(1, 1));
    again.log->close();
    for (const auto& f : segment_files(tmp_.outbox())) stdfs::remove(f);
  }
}

TEST_F(OutboxLogDamage, RandomBytesAppended) {
  const std::string original = write_ten();
  std::mt19937_64 rng(99);
  for (std::size_t len : {1u, 3u, 8u, 23u, 24u, 25u, 100u, 4096u, 70000u}) {
    std::string garbage(len, '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    write_bytes(segment_, original + garbage);
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11)) << len;
    EXPECT_EQ(o.report.torn_bytes_truncated, len);
    EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
    EXPECT_EQ(stdfs::file_size(segment_), original.size());
  }
  // Garbage that starts like a record header (magic and a plausible length) is a torn tail too.
  std::string fake = original;
  encode_record(fake, record_type::data, 0, 11, "k", std::string(500, 'x'));
  fake.resize(original.size() + 100);
  write_bytes(segment_, fake);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11));
  EXPECT_EQ(o.report.torn_bytes_truncated, 100u);
}

TEST_F(OutboxLogDamage, ZeroFilledTail) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  // File size extended with zeros (metadata reached the disk, data did not).
  write_bytes(segment_, original + std::string(8192, '\0'));
  {
    auto o = open_log(fs_, tmp_.outbox(), no_fsync());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(11, 11));
    EXPECT_EQ(o.report.torn_bytes_truncated, 8192u);
  }
  // The last two records' bytes zeroed in place.
  std::string zeroed = original;
  std::fill(zeroed.begin() + static_cast<std::ptrdiff_t>(starts[9]), zeroed.end(), '\0');
  write_bytes(segment_, zeroed);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(9, 10));
  EXPECT_EQ(o.report.torn_bytes_truncated, original.size() - starts[9]);
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
}

TEST_F(OutboxLogDamage, FlippedByteInAMiddleRecordIsQuarantined) {
  const std::string original = write_ten(outbox_log_options{});
  const auto starts = record_boundaries(original);
  // Record 5 (index 5: index 0 is the segment-start). Every header byte, the key, and payload
  // bytes at both ends.
  const std::size_t begin = starts[5];
  const std::size_t end = starts[6];
  std::vector<std::size_t> offsets;
  for (std::size_t i = begin; i < begin + outbox_record_header_size + 6; ++i) offsets.push_back(i);
  offsets.push_back(end - 2);
  offsets.push_back(end - 1);
  std::string detail;
  for (const std::size_t at : offsets) {
    for (const auto& f : quarantine_files(tmp_.outbox())) stdfs::remove(f);
    std::string damaged = original;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5A);
    write_bytes(segment_, damaged);
    {
      auto o = open_log(fs_, tmp_.outbox());
      ASSERT_FALSE(o.ec) << "offset " << at;
      EXPECT_EQ(payloads(*o.log), ten_payloads_except(5, 5)) << "offset " << at;
      EXPECT_EQ(o.report.corrupt_segments_quarantined, 1u) << "offset " << at;
      EXPECT_NE(o.report.corrupt_detail.find(".corrupt"), std::string::npos);
      detail = o.report.corrupt_detail;
      EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
      EXPECT_EQ(o.log->next_seq(), 11u);
      const auto quarantined = quarantine_files(tmp_.outbox());
      ASSERT_EQ(quarantined.size(), 1u);
      EXPECT_EQ(read_bytes(quarantined[0]), damaged);  // kept exactly as found
    }
    // Reported once: the segment was rewritten clean.
    auto o = open_log(fs_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    EXPECT_EQ(o.report.corrupt_segments_quarantined, 0u);
    EXPECT_EQ(payloads(*o.log), ten_payloads_except(5, 5));
  }
  std::printf("[ info     ] %zu damaged offsets quarantined; last report: %s\n", offsets.size(),
              detail.c_str());
}

TEST_F(OutboxLogDamage, DamageAcrossSeveralRecordsKeepsWhatCanBeResynchronised) {
  const std::string original = write_ten();
  const auto starts = record_boundaries(original);
  std::string damaged = original;
  // Records 3..6 overwritten with garbage that contains the magic but no valid record.
  for (std::size_t i = starts[3]; i < starts[7]; ++i) damaged[i] = (i % 7 == 0) ? 'R' : 'W';
  std::memcpy(&damaged[starts[4]], "RWS1", 4);
  write_bytes(segment_, damaged);
  auto o = open_log(fs_, tmp_.outbox(), no_fsync());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), ten_payloads_except(3, 6));
  EXPECT_EQ(o.report.corrupt_segments_quarantined, 1u);
  EXPECT_NE(o.report.corrupt_detail.find(std::to_string(starts[7] - starts[3]) + " damaged bytes"),
            std::string::npos)
      << o.report.corrupt_detail;
}

TEST_F(OutboxLogDamage, TornTailOfAnEarlierSegmentAndAnEmptyLastSegment) {
  outbox_log_options options = no_fsync();
  options.segment_bytes = 300;
  {
    auto o = open_log(fs_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    for (std::uint64_t n = 1; n <= 30; ++n) {
      auto batch = make_batch(n, 1, 50);
      ASSERT_FALSE(o.log->append(batch));
    }
    EXPECT_GE(o.log->segment_count(), 5u);
  }
  auto segments = segment_files(tmp_.outbox());
  ASSERT_GE(segments.size(), 5u);
  // Cut the second segment inside its last record; leave an empty file as the next segment, as
  // a crash right after creating it would.
  const std::string second = read_bytes(segments[1]);
  const auto starts = record_boundaries(second);
  write_bytes(segments[1], second.substr(0, starts[starts.size() - 2] + 10));
  const std::string last_name = stdfs::path(segments.back()).filename().string();
  const std::uint64_t last_index = std::stoull(last_name.substr(4, 16), nullptr, 16);
  char next_name[32];
  std::snprintf(next_name, sizeof next_name, "seg-%016llx.log",
                static_cast<unsigned long long>(last_index + 1));
  write_bytes(tmp_.outbox() + "/" + next_name, "");
  auto o = open_log(fs_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(o.report.torn_bytes_truncated, 10u);
  EXPECT_EQ(o.report.records_pending, 29u);
  EXPECT_EQ(o.log->next_seq(), 31u);
  std::vector<std::uint64_t> seqs;
  for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  auto batch = make_batch(31, 1);
  ASSERT_FALSE(o.log->append(batch));
  EXPECT_EQ(batch[0].seq, 31u);
}

// ---- Disk errors --------------------------------------------------------------------------------

class OutboxLogFaults : public OutboxLog {
 protected:
  tests::fault_injecting_file_system faulty_{fs_};
};

TEST_F(OutboxLogFaults, ShortWriteWithEnospcKeepsNothingOfThatBatch) {
  std::uint64_t synced_size = 0;
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 3, 100);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    synced_size = segment_bytes_on_disk(tmp_.outbox());

    faulty_.fail_append(1);  // writes half the batch, then ENOSPC
    auto b = make_batch(4, 3, 100);
    EXPECT_EQ(o.log->append(b), std::errc::no_space_on_device);
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 3, 100));
    EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    EXPECT_EQ(o.log->disk_bytes(), synced_size);

    // The disk stays full for a while: every attempt fails cleanly.
    faulty_.set_disk_full(true);
    for (int i = 0; i < 3; ++i) {
      auto c = make_batch(7, 2, 100);
      EXPECT_EQ(o.log->append(c), std::errc::no_space_on_device);
      EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    }
    faulty_.set_disk_full(false);

    // Space is back.
    auto d = make_batch(10, 2, 100);
    ASSERT_FALSE(o.log->append(d));
    ASSERT_FALSE(o.log->sync());
    EXPECT_GT(d[0].seq, b[2].seq);  // the failed batch's seqs are not handed out again
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 3, 100);
  for (auto& p : expected_payloads(10, 11, 100)) expected.push_back(p);
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
}

TEST_F(OutboxLogFaults, FailedAppendLeavesEarlierUnsyncedRecordsToTheNextSync) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    auto b = make_batch(3, 2);
    ASSERT_FALSE(o.log->append(b));  // not synced yet
    faulty_.fail_append(1, ENOSPC, 5);
    auto c = make_batch(5, 2);
    EXPECT_EQ(o.log->append(c), std::errc::no_space_on_device);
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 4));
    EXPECT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, 4));
}

TEST_F(OutboxLogFaults, EioOnSyncIsNeverReportedDurable) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2, 100);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    const auto synced_size = segment_bytes_on_disk(tmp_.outbox());
    auto b = make_batch(3, 2, 100);
    ASSERT_FALSE(o.log->append(b));
    EXPECT_FALSE(o.log->mark_delivered(1));  // a mark in the same unsynced stretch
    faulty_.fail_sync(1);
    EXPECT_EQ(o.log->sync(), std::errc::io_error);
    // Everything since the last good sync is gone: from pending() and from the file.
    EXPECT_EQ(payloads(*o.log), expected_payloads(2, 2, 100));
    EXPECT_EQ(segment_bytes_on_disk(tmp_.outbox()), synced_size);
    EXPECT_EQ(o.log->disk_bytes(), synced_size);
    // And the log works on.
    auto c = make_batch(5, 2, 100);
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  // Record 1 comes back: its mark was lost with the failed sync (a redelivery, never a loss).
  auto expected = expected_payloads(1, 2, 100);
  for (auto& p : expected_payloads(5, 6, 100)) expected.push_back(p);
  EXPECT_EQ(payloads(*o.log), expected);
}

TEST_F(OutboxLogFaults, AlwaysPolicyReportsSyncFailureFromAppend) {
  outbox_log_options options;
  options.fsync = fsync_policy::always;
  auto o = open_log(faulty_, tmp_.outbox(), options);
  ASSERT_FALSE(o.ec);
  auto a = make_batch(1, 1);
  ASSERT_FALSE(o.log->append(a));
  faulty_.fail_sync(1);
  auto b = make_batch(2, 1);
  EXPECT_EQ(o.log->append(b), std::errc::io_error);
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, 1));
  auto c = make_batch(3, 1);
  EXPECT_FALSE(o.log->append(c));
  o.log->close();
  auto again = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(again.ec);
  auto expected = expected_payloads(1, 1);
  expected.push_back(payload_for(3));
  EXPECT_EQ(payloads(*again.log), expected);
}

TEST_F(OutboxLogFaults, RollbackThatCannotTruncateDiscardsTheUnsyncedGroupAndRecovers) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    auto b = make_batch(3, 2);
    ASSERT_FALSE(o.log->append(b));  // unsynced
    faulty_.fail_append(1);
    faulty_.fail_truncate(1);  // the rollback's truncate fails too
    auto c = make_batch(5, 2);
    EXPECT_TRUE(o.log->append(c));
    // b can no longer be made durable safely: gone from pending, and the next sync says so.
    EXPECT_EQ(payloads(*o.log), expected_payloads(1, 2));
    EXPECT_EQ(o.log->sync(), std::errc::no_space_on_device);
    // The next write repairs the file first.
    auto d = make_batch(7, 1);
    ASSERT_FALSE(o.log->append(d));
    ASSERT_FALSE(o.log->sync());
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 2);
  expected.push_back(payload_for(7));
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 0u);
}

TEST_F(OutboxLogFaults, FileThatWillNotShrinkIsLeftForANewSegment) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 2);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    faulty_.fail_append(1, ENOSPC, 10);  // 10 bytes of garbage remain
    faulty_.fail_truncate(1);
    auto b = make_batch(3, 1);
    EXPECT_TRUE(o.log->append(b));
    faulty_.fail_truncate(1);     // the repair's truncate fails as well
    EXPECT_FALSE(o.log->sync());  // nothing unsynced was lost
    auto c = make_batch(4, 1);
    ASSERT_FALSE(o.log->append(c));
    ASSERT_FALSE(o.log->sync());
    EXPECT_EQ(o.log->segment_count(), 2u);
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  auto expected = expected_payloads(1, 2);
  expected.push_back(payload_for(4));
  EXPECT_EQ(payloads(*o.log), expected);
  EXPECT_EQ(o.report.torn_bytes_truncated, 10u);  // the old segment's debris
}

TEST_F(OutboxLogFaults, LostMarkMeansRedeliveryNotLoss) {
  {
    outbox_log_options options;
    options.mark_buffer_bytes = 0;  // write each mark at once, so the fault hits it
    auto o = open_log(faulty_, tmp_.outbox(), options);
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 3);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    faulty_.fail_append(1);
    EXPECT_EQ(o.log->mark_delivered(2), std::errc::no_space_on_device);
    EXPECT_EQ(o.log->pending().size(), 2u);  // it was delivered all the same
    EXPECT_FALSE(o.log->mark_delivered(3));
  }
  auto o = open_log(fs_, tmp_.outbox());
  ASSERT_FALSE(o.ec);
  EXPECT_EQ(payloads(*o.log), (std::vector<std::string>{payload_for(1), payload_for(2)}));
}

TEST_F(OutboxLogFaults, MarksAreBufferedAndRideAlongWithTheNextWrite) {
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    auto a = make_batch(1, 5);
    ASSERT_FALSE(o.log->append(a));
    ASSERT_FALSE(o.log->sync());
    const int writes = faulty_.appends();
    const auto bytes = o.log->disk_bytes();
    ASSERT_FALSE(o.log->mark_delivered(1));
    ASSERT_FALSE(o.log->mark_delivered(2));
    EXPECT_EQ(faulty_.appends(), writes);  // buffered
    EXPECT_EQ(o.log->disk_bytes(), bytes);
    auto b = make_batch(6, 2);
    ASSERT_FALSE(o.log->append(b));
    EXPECT_EQ(faulty_.appends(), writes + 1);  // marks and batch in one write
    EXPECT_EQ(o.log->disk_bytes(),
              bytes + 2 * outbox_record_header_size + encoded_record_size(5, 10) * 2);
    ASSERT_FALSE(o.log->sync());
    ASSERT_FALSE(o.log->mark_delivered(3));  // stays in the buffer until close()
  }
  {
    auto o = open_log(faulty_, tmp_.outbox());
    ASSERT_FALSE(o.ec);
    std::vector<std::uint64_t> seqs;
    for (const auto& e : o.log->pending()) seqs.push_back(e.seq);
    EXPECT_EQ(seqs, (std::vector<std::uint64_t>{4, 5, 6, 7}));
    // Draining the outbox writes the marks at once: nothing left to redeliver after a crash.
    const int writes = faulty_.appends();
    for (std::uint64_t s : {4, 5, 6}) ASSERT_FALSE(o.log->mark_delivered(s));
    EXPECT_EQ(faulty_.appends(), writes);
    ASSERT_FALSE(o.log->mark_delivered(7));
    EXPECT_EQ(faulty_.appends(), writes + 1);
    // Simulate a crash: the file as it is now, without close().
    const auto dir_copy = tmp_.path() + "/copy";
    stdfs::copy(tmp_.outbox(), dir_copy);
    auto crashed = open_log(fs_, dir_copy);
    ASSERT_FALSE(crashed.ec);
    EXPECT_TRUE(crashed.log->pending().empty());
  }
}

// A real full file system: a 1 MiB tmpfs gives genuine short writes.
TEST_F(OutboxLog, RealEnospcOnASmallTmpfs) {
  const std::string mount_point = tmp_.path() + "/small";
  stdfs::create_directory(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
    std::printf("[ SKIPPED  ] cannot mount a tmpfs here (%s); real ENOSPC test skipped\n",
                std::strerror(errno));
    GTEST_SKIP();
  }
  struct unmount_guard {
    std::string path;
    ~unmount_guard() { ::umount2(path.c_str(), MNT_DETACH); }
  } guard{mount_point};

  outbox_log_options options;
  options.segment_bytes = 64 << 10;
  const std::string dir = mount_point + "/outbox";
  std::uint64_t n = 1;
  std::uint64_t durable = 0;
  std::error_code failure;
  {
    auto o = open_log(fs_, dir, options);
    ASSERT_FALSE(o.ec);
    for (int i = 0; i < 1000 && !failure; ++i) {
      auto batch = make_batch(n, 4, 3000);
      n += 4;
      failure = o.log->append(batch);
      if (!failure) failure = o.log->sync();
      if (!failure) durable = batch.back().seq;
    }
    EXPECT_EQ(failure, std::errc::no_space_on_device);
    EXPECT_EQ(o.log->pending().size(), durable);
  }
  auto o = open_log(fs_, dir, options);
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(payloads(*o.log), expected_payloads(1, durable, 3000));
  // Deliver everything: the delivered segments go, and there is room again.
  while (!o.log->pending().empty()) o.log->mark_delivered(o.log->pending().front().seq);
  auto batch = make_batch(n, 4, 3000);
  EXPECT_FALSE(o.log->append(batch));
  EXPECT_FALSE(o.log->sync());
  std::printf("[ info     ] tmpfs filled after %llu durable records; appends work after draining\n",
              static_cast<unsigned long long>(durable));
}

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
