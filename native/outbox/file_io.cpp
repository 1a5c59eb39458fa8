#include "outbox/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace rws {
namespace {

class outbox_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rws.outbox"; }
  std::string message(int value) const override {
    switch (static_cast<outbox_errc>(value)) {
      case outbox_errc::locked:
        return "the outbox directory is in use by another socket or process (its LOCK is held)";
      case outbox_errc::closed: return "the outbox is closed";
      case outbox_errc::record_too_large:
        return "message too large for the outbox (key over 65535 bytes or payload over 64 MiB)";
      case outbox_errc::file_too_large: return "file larger than expected";
      case outbox_errc::verify_failed:
        return "the outbox file did not read back as expected after a failed write";
      case outbox_errc::directory_not_owned:
        return "the outbox directory belongs to another user";
      case outbox_errc::directory_open_to_others:
        return "the outbox directory can be written by group or others";
      case outbox_errc::seq_exhausted:
        return "the outbox ran out of sequence numbers; move its directory aside to start a new one";
    }
    return "unknown outbox error";
  }
};

inline std::error_code errno_code(int e) { return {e, std::generic_category()}; }
inline std::error_code last_error() { return errno_code(errno); }

}  // namespace

const std::error_category& outbox_category() noexcept {
  static const outbox_category_impl category;
  return category;
}

std::error_code make_error_code(outbox_errc e) noexcept {
  return {static_cast<int>(e), outbox_category()};
}

int posix_file_system::open_directory(const std::string& dir, std::error_code& ec) {
  if (dir.empty()) {
    ec = errno_code(ENOENT);
    return -1;
  }
  // mkdir -p: existing components are left as they are; only what we create is forced to 0700.
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) == 0) continue;
    if (errno != EEXIST) {
      ec = last_error();
      return -1;
    }
  }
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    ec = last_error();  // ENOTDIR for a file, ELOOP for a symlink
    return -1;
  }
  // Checked on the descriptor every later call goes through, not on the path.
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ec = last_error();
  } else if (st.st_uid != ::geteuid()) {
    ec = make_error_code(outbox_errc::directory_not_owned);
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    ec = make_error_code(outbox_errc::directory_open_to_others);
  } else {
    ec.clear();
    return fd;
  }
  ::close(fd);
  return -1;
}

int posix_file_system::open(int dir, const std::string& name, open_mode mode, std::error_code& ec) {
  int flags = O_CLOEXEC | O_NOFOLLOW;
  switch (mode) {
    case open_mode::read_only: flags |= O_RDONLY; break;
    case open_mode::read_append: flags |= O_RDWR | O_APPEND | O_CREAT; break;
    case open_mode::create_new: flags |= O_RDWR | O_APPEND | O_CREAT | O_EXCL; break;
  }
  for (;;) {
    // 0600: outgoing messages may hold anything the application sends; owner only.
    int fd = ::openat(dir, name.c_str(), flags, 0600);
    if (fd >= 0) {
      ec.clear();
      return fd;
    }
    if (errno != EINTR) break;
  }
  ec = last_error();
  return -1;
}

void posix_file_system::close(int fd) {
  // Never retried on EINTR: Linux has released the descriptor either way, and a retry could
  // close a descriptor another thread just received.
  if (fd >= 0) ::close(fd);
}

std::error_code posix_file_system::append(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) return errno_code(EIO);  // a regular file never does this; do not spin
    // A short write (signal, or the disk filled up mid-way): continue; the next call reports
    // ENOSPC if that was the cause.
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code posix_file_system::read_at(int fd, std::uint64_t offset, char* out,
                                           std::size_t size, std::size_t& got) {
  got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) break;  // end of file
    got += static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code posix_file_system::file_size(int fd, std::uint64_t& size) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return last_error();
  size = static_cast<std::uint64_t>(st.st_size);
  return {};
}

std::error_code posix_file_system::sync(int fd) {
  // Not retried on EINTR beyond the call itself: after a real failure (EIO) the kernel may have
  // dropped the dirty pages, so a retry that "succeeds" would lie. The caller rolls back.
  for (;;) {
    if (::fdatasync(fd) == 0) return {};
    if (errno != EINTR) return last_error();
  }
}

int posix_file_system::duplicate(int fd, std::error_code& ec) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    ec = last_error();
    return -1;
  }
  ec.clear();
  return copy;
}

std::error_code posix_file_system::truncate(int fd, std::uint64_t size) {
  for (;;) {
    if (::ftruncate(fd, static_cast<off_t>(size)) == 0) return {};
    if (errno != EINTR) return last_error();
  }
}

std::error_code posix_file_system::rename(int dir, const std::string& from, const std::string& to) {
  if (::renameat(dir, from.c_str(), dir, to.c_str()) != 0) return last_error();
  return {};
}

std::error_code posix_file_system::remove(int dir, const std::string& name) {
  if (::unlinkat(dir, name.c_str(), 0) != 0) return last_error();
  return {};
}

std::error_code posix_file_system::list_directory(int dir, std::vector<std::string>& names) {
  names.clear();
  // fdopendir takes over its descriptor: give it a fresh one at the start of the directory.
  int copy;
  do {
    copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (copy < 0 && errno == EINTR);
  if (copy < 0) return last_error();
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    const int err = errno;
    ::close(copy);
    return errno_code(err);
  }
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return errno_code(err);
  return {};
}

std::error_code posix_file_system::sync_directory(int dir) {
  while (::fsync(dir) != 0) {
    if (errno != EINTR) return last_error();
  }
  return {};
}

int posix_file_system::lock(int dir, const std::string& name, std::error_code& ec) {
  int fd = open(dir, name, open_mode::read_append, ec);
  if (fd < 0) return -1;
  // flock rather than fcntl locks: fcntl locks belong to the process, so a second outbox_log on
  // the same directory in this process would silently share them. flock locks belong to the
  // open file description, so that second open is refused too.
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      ec.clear();
      return fd;
    }
    if (errno != EINTR) break;
  }
  ec = (errno == EWOULDBLOCK) ? make_error_code(outbox_errc::locked) : last_error();
  ::close(fd);
  return -1;
}

file_handle& file_handle::operator=(file_handle&& other) noexcept {
  if (this != &other) {
    reset();
    fs_ = other.fs_;
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void file_handle::reset() {
  if (fd_ >= 0 && fs_ != nullptr) fs_->close(fd_);
  fd_ = -1;
}

std::error_code read_whole_file(file_system& fs, int fd, std::string& out,
                                std::uint64_t max_size) {
  std::uint64_t size = 0;
  if (auto ec = fs.file_size(fd, size)) return ec;
  if (size > max_size) return make_error_code(outbox_errc::file_too_large);
  out.resize(static_cast<std::size_t>(size));
  std::size_t got = 0;
  if (auto ec = fs.read_at(fd, 0, out.data(), out.size(), got)) return ec;
  out.resize(got);  // the file shrank meanwhile: what was read is what there is
  return {};
}

std::error_code write_file_atomic(file_system& fs, int dir, const std::string& name,
                                  std::string_view contents, bool durable) {
  const std::string temp_name = name + ".tmp";
  std::error_code ec;
  {
    // A fresh file: whatever is at the temporary name (debris, or a planted symlink) is
    // unlinked first and never written through.
    fs.remove(dir, temp_name);
    file_handle temp(fs, fs.open(dir, temp_name, open_mode::create_new, ec));
    if (ec) return ec;
    if (!contents.empty()) ec = fs.append(temp.get(), contents);
    // The data must be on disk before the rename can make it visible under the real name,
    // otherwise a crash could leave the real name pointing at an empty or partial file.
    if (!ec && durable) ec = fs.sync(temp.get());
  }
  if (!ec) ec = fs.rename(dir, temp_name, name);
  if (ec) {
    fs.remove(dir, temp_name);
    return ec;
  }
  return durable ? fs.sync_directory(dir) : std::error_code{};
}

std::error_code read_small_file(file_system& fs, int dir, const std::string& name,
                                std::string& out, std::uint64_t max_size) {
  std::error_code ec;
  file_handle file(fs, fs.open(dir, name, open_mode::read_only, ec));
  if (ec) return ec;
  return read_whole_file(fs, file.get(), out, max_size);
}

}  // namespace rws
