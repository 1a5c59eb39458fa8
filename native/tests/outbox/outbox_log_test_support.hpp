#pragma once
// Shared by the outbox_log_*_test.cpp files: temporary directories, segment file helpers,
// batches of test records and the OutboxLog fixture. Header-only; test code only.
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

#include "outbox/outbox_log.hpp"

namespace rws::outbox_test {

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

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("seg-") && name.ends_with(".log")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::uint64_t segment_bytes_on_disk(const std::string& dir) {
  std::uint64_t total = 0;
  for (const auto& f : segment_files(dir)) total += stdfs::file_size(f);
  return total;
}

inline std::vector<std::string> quarantine_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".corrupt") != std::string::npos) {
      files.push_back(e.path().string());
    }
  }
  return files;
}

// Record start offsets of a segment file, plus its end.
inline std::vector<std::size_t> record_boundaries(std::string_view bytes) {
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

inline std::string payload_for(std::uint64_t n, std::size_t size = 0) {
  std::string p = "payload-" + std::to_string(n) + "-";
  if (size > p.size()) p.resize(size, static_cast<char>('a' + n % 26));
  return p;
}

inline std::vector<outbox_entry> make_batch(std::uint64_t first, std::size_t count,
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

inline std::vector<std::string> payloads(const outbox_log& log) {
  std::vector<std::string> out;
  for (const auto& e : log.pending()) out.push_back(e.payload);
  return out;
}

inline std::vector<std::string> expected_payloads(std::uint64_t first, std::uint64_t last_inclusive,
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

inline opened open_log(file_system& fs, const std::string& dir, outbox_log_options options = {}) {
  opened o;
  o.log = outbox_log::open(fs, dir, o.ec, o.report, options);
  return o;
}

inline outbox_log_options no_fsync() {
  outbox_log_options options;
  options.fsync = fsync_policy::none;
  return options;
}

class OutboxLog : public ::testing::Test {
 protected:
  posix_file_system fs_;
  temp_dir tmp_;
};

}  // namespace rws::outbox_test
