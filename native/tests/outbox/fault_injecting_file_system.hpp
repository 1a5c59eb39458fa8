#pragma once
// A file_system that forwards to a real one and fails chosen calls the way a sick disk does:
// the Nth append writes part of its data and then reports ENOSPC (a genuine short write), the
// Nth fdatasync reports EIO, a truncate fails, or the disk stays "full" until told otherwise.
// Counting starts when a fault is armed: fail_append(1) fails the very next append.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "outbox/file_io.hpp"

namespace rws::tests {

class fault_injecting_file_system final : public file_system {
 public:
  explicit fault_injecting_file_system(file_system& inner) : inner_(inner) {}

  // The nth append from now writes `partial` bytes (default: half) and fails with err.
  void fail_append(int nth, int err = ENOSPC, std::size_t partial = half) {
    append_countdown_ = nth;
    append_errno_ = err;
    append_partial_ = partial;
  }
  void fail_sync(int nth, int err = EIO) {
    sync_countdown_ = nth;
    sync_errno_ = err;
  }
  void fail_truncate(int nth, int err = EIO) {
    truncate_countdown_ = nth;
    truncate_errno_ = err;
  }
  // Until cleared, every append writes half its data and fails with ENOSPC.
  void set_disk_full(bool full) { disk_full_ = full; }

  int appends() const { return appends_; }
  int syncs() const { return syncs_; }
  int directory_syncs() const { return directory_syncs_; }
  int removes() const { return removes_; }
  int renames() const { return renames_.load(); }

  int open_directory(const std::string& dir, std::error_code& ec) override {
    return inner_.open_directory(dir, ec);
  }
  int open(int dir, const std::string& name, open_mode mode, std::error_code& ec) override {
    return inner_.open(dir, name, mode, ec);
  }
  void close(int fd) override { inner_.close(fd); }

  std::error_code append(int fd, std::string_view data) override {
    ++appends_;
    if (disk_full_ || fire(append_countdown_)) {
      const std::size_t keep = (disk_full_ || append_partial_ == half)
                                   ? data.size() / 2
                                   : std::min(append_partial_, data.size());
      if (keep > 0) {
        if (auto ec = inner_.append(fd, data.substr(0, keep))) return ec;
      }
      return {disk_full_ ? ENOSPC : append_errno_, std::generic_category()};
    }
    return inner_.append(fd, data);
  }
  std::error_code read_at(int fd, std::uint64_t offset, char* out, std::size_t size,
                          std::size_t& got) override {
    return inner_.read_at(fd, offset, out, size, got);
  }
  std::error_code file_size(int fd, std::uint64_t& size) override {
    return inner_.file_size(fd, size);
  }
  std::error_code sync(int fd) override {
    ++syncs_;
    if (fire(sync_countdown_)) return {sync_errno_, std::generic_category()};
    return inner_.sync(fd);
  }
  int duplicate(int fd, std::error_code& ec) override { return inner_.duplicate(fd, ec); }
  std::error_code truncate(int fd, std::uint64_t size) override {
    if (fire(truncate_countdown_)) return {truncate_errno_, std::generic_category()};
    return inner_.truncate(fd, size);
  }
  std::error_code rename(int dir, const std::string& from, const std::string& to) override {
    ++renames_;
    return inner_.rename(dir, from, to);
  }
  std::error_code remove(int dir, const std::string& name) override {
    ++removes_;
    return inner_.remove(dir, name);
  }
  std::error_code list_directory(int dir, std::vector<std::string>& names) override {
    return inner_.list_directory(dir, names);
  }
  std::error_code sync_directory(int dir) override {
    ++directory_syncs_;
    return inner_.sync_directory(dir);
  }
  int lock(int dir, const std::string& name, std::error_code& ec) override {
    return inner_.lock(dir, name, ec);
  }

 private:
  static constexpr std::size_t half = static_cast<std::size_t>(-1);

  // True exactly once, when the countdown reaches zero; 0 means "not armed".
  static bool fire(int& countdown) { return countdown > 0 && --countdown == 0; }

  file_system& inner_;
  int append_countdown_ = 0;
  int append_errno_ = ENOSPC;
  std::size_t append_partial_ = half;
  int sync_countdown_ = 0;
  int sync_errno_ = EIO;
  int truncate_countdown_ = 0;
  int truncate_errno_ = EIO;
  bool disk_full_ = false;
  int appends_ = 0;
  int syncs_ = 0;
  int directory_syncs_ = 0;
  int removes_ = 0;
  std::atomic<int> renames_{0};  // the disk worker renames while a test thread reads it
};

}  // namespace rws::tests
