#pragma once
// The file-system seam under the outbox log. Everything the log does to the disk goes
// through `file_system`, so tests can substitute a wrapper that fails the Nth write with ENOSPC
// after writing part of it, fails fdatasync with EIO, and so on — the failures that matter most
// and are hardest to produce on a real disk. Errors are std::error_code values (errno values in
// std::generic_category, plus outbox_errc below); nothing here throws on the I/O path.
//
// Descriptors are plain ints owned by the caller; file_handle closes them on scope exit.
// Everything is synchronous; posix_file_system has no state, so the io thread and the outbox's
// disk_worker may call it at the same time (on different descriptors).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace rws {

// Outbox failures that have no errno of their own.
enum class outbox_errc : int {
  locked = 1,        // the directory's LOCK is held (another socket or process): ERR_OUTBOX_LOCKED
  closed,            // the log was closed
  record_too_large,  // key > 65535 bytes or payload > 64 MiB: rejected before anything is written
  file_too_large,    // read_small_file: the file exceeds the caller's bound
  verify_failed,     // after rolling back a failed write/sync the file did not read back as expected
  seq_exhausted,     // the next seq would reach outbox_seq_limit (never in practice)
  directory_not_owned,       // open_directory: owned by another user
  directory_open_to_others,  // open_directory: group or others may write to it
};

const std::error_category& outbox_category() noexcept;
std::error_code make_error_code(outbox_errc e) noexcept;

}  // namespace rws

template <>
struct std::is_error_code_enum<rws::outbox_errc> : std::true_type {};

namespace rws {

enum class open_mode : std::uint8_t {
  read_only,       // O_RDONLY
  read_append,     // O_RDWR | O_APPEND | O_CREAT: a log segment (append, read back, truncate)
  create_new,      // O_RDWR | O_APPEND | O_CREAT | O_EXCL: a new segment or temporary file
                   // (EEXIST if anything is there)
};
// Every mode adds O_NOFOLLOW: a symlink planted in the outbox directory is refused (ELOOP), never
// followed, so the outbox cannot be made to write or truncate a file elsewhere.

// Files are named relative to a directory descriptor from open_directory(): the outbox opens its
// directory once, checks it, and every later open/rename/unlink is an *at call on that
// descriptor, so a rename or symlink swap of the path afterwards cannot redirect it.
class file_system {
 public:
  virtual ~file_system() = default;

  // Opens dir (O_DIRECTORY | O_NOFOLLOW), creating it and its missing parents with mode 0700.
  // Refuses a directory owned by another user (outbox_errc::directory_not_owned) or one that
  // group or others may write to (outbox_errc::directory_open_to_others): either could plant a
  // file or symlink in it. -1 with ec set on failure; close(fd) releases it.
  virtual int open_directory(const std::string& dir, std::error_code& ec) = 0;
  // A descriptor (>= 0) for dir/name, or -1 with ec set. Files are created 0600, opened
  // O_CLOEXEC | O_NOFOLLOW.
  virtual int open(int dir, const std::string& name, open_mode mode, std::error_code& ec) = 0;
  virtual void close(int fd) = 0;
  // Writes all of data with as few write() calls as the kernel allows (one, normally). A short
  // write that cannot be continued (ENOSPC, EIO) returns the error; the bytes that did land stay
  // in the file — the caller truncates them.
  virtual std::error_code append(int fd, std::string_view data) = 0;
  // Reads size bytes at offset; got < size only at end of file.
  virtual std::error_code read_at(int fd, std::uint64_t offset, char* out, std::size_t size,
                                  std::size_t& got) = 0;
  virtual std::error_code file_size(int fd, std::uint64_t& size) = 0;
  virtual std::error_code sync(int fd) = 0;  // fdatasync
  // dup(fd) (close-on-exec): a second descriptor for the same open file, -1 with ec set.
  virtual int duplicate(int fd, std::error_code& ec) = 0;
  virtual std::error_code truncate(int fd, std::uint64_t size) = 0;
  virtual std::error_code rename(int dir, const std::string& from, const std::string& to) = 0;
  virtual std::error_code remove(int dir, const std::string& name) = 0;
  // Names of the entries of dir, without "." and "..", in no particular order.
  virtual std::error_code list_directory(int dir, std::vector<std::string>& names) = 0;
  // fsync of the directory itself, so a created, renamed or removed entry survives power loss.
  virtual std::error_code sync_directory(int dir) = 0;
  // Opens (creating, 0600) dir/name and takes flock(LOCK_EX | LOCK_NB) on it: a descriptor, or
  // -1 with ec = outbox_errc::locked when another open file description holds it — another
  // process, or another open of the same directory in this process. close(fd) releases it.
  virtual int lock(int dir, const std::string& name, std::error_code& ec) = 0;
};

// The real thing. Stateless, so one instance can serve every outbox of an environment, from
// any thread.
class posix_file_system final : public file_system {
 public:
  int open_directory(const std::string& dir, std::error_code& ec) override;
  int open(int dir, const std::string& name, open_mode mode, std::error_code& ec) override;
  void close(int fd) override;
  std::error_code append(int fd, std::string_view data) override;
  std::error_code read_at(int fd, std::uint64_t offset, char* out, std::size_t size,
                          std::size_t& got) override;
  std::error_code file_size(int fd, std::uint64_t& size) override;
  std::error_code sync(int fd) override;
  int duplicate(int fd, std::error_code& ec) override;
  std::error_code truncate(int fd, std::uint64_t size) override;
  std::error_code rename(int dir, const std::string& from, const std::string& to) override;
  std::error_code remove(int dir, const std::string& name) override;
  std::error_code list_directory(int dir, std::vector<std::string>& names) override;
  std::error_code sync_directory(int dir) override;
  int lock(int dir, const std::string& name, std::error_code& ec) override;
};

// Owns one descriptor of a file_system; closes it on destruction. Move-only.
class file_handle {
 public:
  file_handle() = default;
  file_handle(file_system& fs, int fd) : fs_(&fs), fd_(fd) {}
  file_handle(file_handle&& other) noexcept : fs_(other.fs_), fd_(other.fd_) { other.fd_ = -1; }
  file_handle& operator=(file_handle&& other) noexcept;
  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;
  ~file_handle() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  file_system* fs_ = nullptr;
  int fd_ = -1;
};

// Reads the whole file behind fd into out (replacing its contents, reusing its capacity).
// A file larger than max_size is outbox_errc::file_too_large, checked before allocating.
std::error_code read_whole_file(file_system& fs, int fd, std::string& out, std::uint64_t max_size);

// Replaces dir/name with contents so that a crash leaves either the old or the new file, never a
// mix: write `name.tmp`, fdatasync, rename over name, fsync dir. Used for small state beside the
// outbox (the resume position, a quarantined segment). durable = false (fsync 'none') skips both
// syncs: still atomic against a process crash, not against a power loss.
std::error_code write_file_atomic(file_system& fs, int dir, const std::string& name,
                                  std::string_view contents, bool durable = true);

// Reads dir/name written by write_file_atomic. A missing file is
// std::errc::no_such_file_or_directory (the caller treats it as "nothing saved yet").
std::error_code read_small_file(file_system& fs, int dir, const std::string& name,
                                std::string& out, std::uint64_t max_size = std::uint64_t{1} << 20);

}  // namespace rws
