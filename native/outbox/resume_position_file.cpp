#include "outbox/resume_position_file.hpp"

namespace rws {

std::optional<std::string> resume_position_file::load() {
  std::string stored;
  // A missing file means nothing was stored yet. (read_small_file bounds the size: 1 MiB.)
  if (read_small_file(fs_, dir_, file_name, stored) || stored.empty()) return std::nullopt;
  return stored;
}

void resume_position_file::store(std::string position) {
  bool submit = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    newest_ = std::move(position);
    if (!queued_) queued_ = submit = true;
  }
  if (submit) worker_.submit([this] { write_newest(); });
}

void resume_position_file::write_newest() {
  std::string position;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    position.swap(newest_);
    queued_ = false;
  }
  // A failure only costs a few replayed events after a restart (the previous position stays),
  // so it is not reported; the next store tries again.
  write_file_atomic(fs_, dir_, file_name, position, durable_);
}

}  // namespace rws
