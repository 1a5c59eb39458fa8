#pragma once
// The resume position stored beside a file
// outbox, so a restarted process resumes where the previous one stopped. Read once at open on
// the io thread (a few bytes); every store is written by the outbox's disk_worker (write
// `name.tmp`, fdatasync, rename, fsync of the directory; no syncs at all under fsync 'none'),
// so a slow disk never holds the io thread. Stores that arrive while one is queued are
// coalesced: only the newest position is written.
#include <mutex>
#include <optional>
#include <string>

#include "outbox/disk_worker.hpp"
#include "outbox/file_io.hpp"

namespace rws {

class resume_position_file {
 public:
  // fs, dir and worker must outlive this object's jobs: the outbox destroys its worker (which
  // runs every queued job) before them.
  resume_position_file(file_system& fs, int dir, disk_worker& worker, bool durable)
      : fs_(fs), dir_(dir), worker_(worker), durable_(durable) {}

  // The stored position as written (a JSON token: a number, or a quoted string); nullopt when
  // none was stored yet or it cannot be read.
  std::optional<std::string> load();
  // Queues a write of `position` (the newest wins). Returns at once.
  void store(std::string position);

  static constexpr const char* file_name = "last-event-id";

 private:
  void write_newest();  // on the worker thread

  file_system& fs_;
  const int dir_;  // the outbox directory's descriptor (owned by the log)
  disk_worker& worker_;
  const bool durable_;

  std::mutex mutex_;      // the io thread stores while the worker writes
  std::string newest_;    // guarded by mutex_
  bool queued_ = false;   // a write job is queued and has not taken newest_ yet; guarded by mutex_
};

}  // namespace rws
