// Fuzzes outbox recovery (outbox/outbox_log.hpp): rws::outbox_log::open(...) on a directory
// holding one segment file. Recovery is called only through recover_under_test(), so the
// recovery split into outbox/outbox_recovery.{hpp,cpp} (branch `outbox`) changes one function.
//
// Random bytes almost never carry a valid CRC32C, so the input does not hold the segment itself:
// it is a script for a writer that encodes records the way outbox_log does, and for damage done
// to the file afterwards. Input layout:
//   bytes 0-7   the first seq (u64 LE; 0 means 1): the segment-start record's seq
//   then ops, each one byte (op & 3) followed by its arguments:
//     0  data record: key (u8 % 17 bytes), payload (u8 bytes), binary flag = op bit 2;
//        seq = the next seq (the writer stops writing data once seq 2^64-1 is used; a seq at
//        or above outbox_seq_limit counts as damage, since the real writer refuses it)
//     1  data record whose payload is itself an encoded record (a user may send such bytes):
//        inner type (u8 % 3 + 1), inner seq (u64), inner key (u8 % 9), inner payload (u8)
//     2  delivered-mark for an earlier data record (u8 picks which; op bit 2: dropped)
//     3  damage to the bytes written so far, at offset (u16 % size): kind (u8 % 4) 0: xor a byte
//        with (u8 | 1); 1: truncate; 2: zero u8 % 64 bytes; 3: overwrite u8 % 32 + 1 bytes with
//        the byte u8 (e.g. 0xff)
// Damage is what storage does to a file: bits flip, a crash cuts the end off, ranges read back as
// zeros or as one repeated byte. It never shifts bytes. Shifting is left out on purpose: removing
// exactly the header of a record whose payload is a whole record leaves a file that *is* a valid
// log holding that inner record (the fuzzer built one), so no recovery could tell the difference.
// Invariants:
//   - open succeeds (damage is reported, never fatal);
//   - every pending record is a data record the writer wrote, with that seq, key, payload and
//     flags (no phantom made of bytes that were never a record);
//   - pending seqs strictly increase;
//   - without damage, pending is exactly what the writer wrote minus what it marked;
//   - the next append gets a seq above every recovered one (or fails: the seq space is used up);
//   - reopening gives the same pending records again (plus that append).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "outbox/outbox_log.hpp"
#include "outbox/outbox_record.hpp"

namespace stdfs = std::filesystem;

namespace {

struct written_record {
  std::string key;
  std::string payload;
  bool binary = false;
};

// One scratch directory per process. Never freed: the exit handler that removes it runs after
// static destructors, so it must not point at a destroyed string.
const std::string& work_dir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("TMPDIR");
    auto* path = new std::string(std::string(base && *base ? base : "/tmp") + "/rws-fuzz-outbox-XXXXXX");
    if (!mkdtemp(path->data())) std::abort();
    std::atexit([] { std::error_code ec; stdfs::remove_all(work_dir(), ec); });  // libFuzzer ends with exit()
    return path;
  }();
  return *dir;
}

std::unique_ptr<rws::outbox_log> recover_under_test(rws::file_system& fs, const std::string& dir, std::error_code& ec,
                                                   rws::outbox_recovery_report& report) {
  rws::outbox_log_options options;
  options.fsync = rws::fsync_policy::none;  // the harness checks logic, not durability
  return rws::outbox_log::open(fs, dir, ec, report, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  std::uint64_t next_seq = in.u64();
  if (next_seq == 0) next_seq = 1;
  bool seqs_left = true;  // false once seq 2^64-1 was given out

  std::string file;
  rws::encode_record(file, rws::record_type::segment_start, 0, next_seq, {}, {});
  std::map<std::uint64_t, written_record> written;
  std::vector<std::uint64_t> data_seqs;
  std::map<std::uint64_t, bool> marked;
  bool damaged = false;

  while (!in.empty()) {
    const std::uint8_t op = in.u8();
    switch (op & 3) {
      case 0:
      case 1: {
        written_record rec;
        rec.binary = (op & 4) != 0;
        if ((op & 3) == 0) {
          rec.key = std::string(in.take(in.u8() % 17));
          rec.payload = std::string(in.take(in.u8()));
        } else {
          const auto type = static_cast<rws::record_type>(in.u8() % 3 + 1);
          const std::uint64_t seq = in.u64();
          const std::string key(type == rws::record_type::data ? in.take(in.u8() % 9) : std::string_view{});
          const std::string payload(type == rws::record_type::data ? in.take(in.u8()) : std::string_view{});
          rws::encode_record(rec.payload, type, 0, seq, key, payload);
        }
        if (!seqs_left) break;
        const std::uint64_t seq = next_seq;
        // The real writer never gives out a seq from outbox_seq_limit on (it could not be followed
        // without wrapping), and recovery refuses such records: a file holding one is damage.
        if (seq >= rws::outbox_seq_limit) damaged = true;
        rws::encode_record(file, rws::record_type::data, rec.binary ? rws::record_flag_binary : 0, seq, rec.key,
                           rec.payload);
        written[seq] = std::move(rec);
        data_seqs.push_back(seq);
        if (seq == UINT64_MAX) seqs_left = false; else ++next_seq;
        break;
      }
      case 2: {
        const std::uint8_t pick = in.u8();
        if (data_seqs.empty()) break;
        const std::uint64_t seq = data_seqs[pick % data_seqs.size()];
        const std::uint8_t flags = (op & 4) != 0 ? rws::record_flag_dropped : 0;
        rws::encode_record(file, rws::record_type::delivered, flags, seq, {}, {});
        marked[seq] = true;
        break;
      }
      case 3: {
        const std::size_t at = in.u16() % (file.size() + 1);
        const std::uint8_t kind = in.u8() % 4;
        const std::uint8_t arg = in.u8();
        damaged = true;
        if (kind == 0 && at < file.size()) file[at] = static_cast<char>(file[at] ^ (arg | 1));
        if (kind == 1) file.resize(at);
        const std::size_t room = file.size() - std::min(at, file.size());
        if (kind == 2) std::fill_n(file.begin() + at, std::min<std::size_t>(arg % 64, room), '\0');
        if (kind == 3) std::fill_n(file.begin() + at, std::min<std::size_t>(arg % 32 + 1, room), static_cast<char>(arg));
        break;
      }
    }
  }

  const std::string& dir = work_dir();
  std::error_code fs_ec;
  stdfs::remove_all(dir, fs_ec);
  stdfs::create_directories(dir);
  {
    FILE* f = std::fopen((dir + "/seg-0000000000000001.log").c_str(), "wb");
    if (!f || std::fwrite(file.data(), 1, file.size(), f) != file.size()) std::abort();
    std::fclose(f);
  }

  rws::posix_file_system fs;
  std::vector<rws::outbox_entry> recovered;
  std::uint64_t appended_seq = 0;
  {
    std::error_code ec;
    rws::outbox_recovery_report report;
    auto log = recover_under_test(fs, dir, ec, report);
    FUZZ_CHECK(log != nullptr && !ec, "recovery failed instead of reporting the damage");
    std::uint64_t previous = 0;
    for (const rws::outbox_entry& e : log->pending()) {
      FUZZ_CHECK(recovered.empty() || e.seq > previous, "pending seqs do not strictly increase");
      previous = e.seq;
      const auto it = written.find(e.seq);
      FUZZ_CHECK(it != written.end(), "a recovered record with a seq the writer never gave a data record");
      FUZZ_CHECK(it->second.key == e.key && it->second.payload == e.payload && it->second.binary == e.binary,
                 "a recovered record differs from the one the writer wrote with that seq");
      recovered.push_back(e);
    }
    if (!damaged) {
      std::vector<std::uint64_t> expected;
      for (const std::uint64_t seq : data_seqs) {
        if (!marked.count(seq)) expected.push_back(seq);
      }
      FUZZ_CHECK(expected.size() == recovered.size(), "an undamaged log lost or gained pending records");
      for (std::size_t i = 0; i < expected.size(); ++i) {
        FUZZ_CHECK(expected[i] == recovered[i].seq, "an undamaged log recovered other seqs");
      }
    }
    std::vector<rws::outbox_entry> batch(1);
    batch[0].key = "fuzz-key";
    batch[0].payload = "after recovery";
    if (!log->append(batch)) {
      appended_seq = batch[0].seq;
      FUZZ_CHECK(appended_seq != 0, "append assigned seq 0");
      FUZZ_CHECK(recovered.empty() || appended_seq > recovered.back().seq,
                 "append reused or went below a recovered seq (wrap-around?)");
    }
    FUZZ_CHECK(!log->close(), "close failed");
  }
  {
    std::error_code ec;
    rws::outbox_recovery_report report;
    auto log = recover_under_test(fs, dir, ec, report);
    FUZZ_CHECK(log != nullptr && !ec, "reopening a recovered log failed");
    const auto& pending = log->pending();
    FUZZ_CHECK(pending.size() == recovered.size() + (appended_seq != 0 ? 1 : 0), "reopening changed the pending count");
    for (std::size_t i = 0; i < recovered.size(); ++i) {
      FUZZ_CHECK(pending[i].seq == recovered[i].seq && pending[i].payload == recovered[i].payload,
                 "reopening changed a pending record");
    }
    if (appended_seq != 0) FUZZ_CHECK(pending.back().seq == appended_seq, "reopening lost the appended record");
  }
  return 0;
}
