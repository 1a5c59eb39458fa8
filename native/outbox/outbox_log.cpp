#include "outbox/outbox_log.hpp"

#include <algorithm>
#include <string_view>

#include "outbox/outbox_record.hpp"
#include "outbox/segment_name.hpp"

namespace rws {
namespace {

// A segment must hold more than its segment-start record, or every call would rotate.
outbox_log_options sanitized(outbox_log_options options) {
  options.segment_bytes = std::max<std::uint64_t>(options.segment_bytes, 256);
  return options;
}

}  // namespace

outbox_log::outbox_log(file_system& fs, std::string dir, const outbox_log_options& options)
    : fs_(fs), dir_(std::move(dir)), options_(sanitized(options)) {}

outbox_log::~outbox_log() { close(); }

std::unique_ptr<outbox_log> outbox_log::open(file_system& fs, std::string dir, std::error_code& ec,
                                             outbox_recovery_report& report,
                                             const outbox_log_options& options) {
  report = {};
  file_handle dir_fd(fs, fs.open_directory(dir, ec));
  if (ec) return nullptr;
  const int lock_fd = fs.lock(dir_fd.get(), "LOCK", ec);
  if (ec) return nullptr;
  std::unique_ptr<outbox_log> log(new outbox_log(fs, std::move(dir), options));
  log->dir_fd_ = std::move(dir_fd);
  log->lock_ = file_handle(fs, lock_fd);
  ec = log->recover(report);
  if (ec) return nullptr;  // the destructor releases the lock
  return log;
}

outbox_log::segment* outbox_log::find_segment(std::uint64_t index) {
  if (!segments_.empty() && segments_.back().index == index) return &segments_.back();
  auto it = std::lower_bound(segments_.begin(), segments_.end(), index,
                             [](const segment& s, std::uint64_t i) { return s.index < i; });
  return (it != segments_.end() && it->index == index) ? &*it : nullptr;
}

std::error_code outbox_log::start_segment(std::uint64_t index) {
  const std::string name = segment_name(index);
  std::error_code ec;
  // Created exclusively and never through a symlink: the index is new, so a file by that name
  // is debris of an earlier failed attempt (or something planted there), removed — the entry
  // itself, never what a symlink points to — and not written through.
  int fd = fs_.open(dir_fd_.get(), name, open_mode::create_new, ec);
  if (fd < 0 && ec == std::errc::file_exists && !fs_.remove(dir_fd_.get(), name)) {
    fd = fs_.open(dir_fd_.get(), name, open_mode::create_new, ec);
  }
  if (fd < 0) return ec;
  file_handle file(fs_, fd);
  std::string header;
  encode_record(header, record_type::segment_start, 0, next_seq_, {}, {});
  ec = fs_.append(file.get(), header);
  // The segment-start record (and the new name) must be durable before older segments may be
  // deleted: it is what keeps seqs counting up after a restart. With a disk worker that happens
  // there, ahead of every later sync and deletion (it runs jobs in order); otherwise right here.
  if (!ec && options_.fsync != fsync_policy::none) ec = sync_soon(file.get());
  if (ec) {
    file.reset();
    fs_.remove(dir_fd_.get(), name);
    return ec;
  }
  active_file_ = std::move(file);
  segments_.push_back({index, header.size(), 0});
  disk_bytes_ += header.size();
  synced_size_ = header.size();
  unsynced_first_seq_ = 0;
  broken_ = false;  // a broken predecessor no longer receives writes
  return {};
}

std::error_code outbox_log::sync_soon(int fd) {
  if (options_.sync_in_background && !disk_work_inline_) {
    std::error_code dup_error;
    const int copy = fs_.duplicate(fd, dup_error);
    if (copy >= 0) {
      options_.sync_in_background(dir_fd_.get(), copy);
      return {};
    }
  }
  std::error_code ec = fs_.sync(fd);
  if (!ec) ec = fs_.sync_directory(dir_fd_.get());
  return ec;
}

void outbox_log::report_background_sync_failure(std::error_code ec) {
  // The next sync() reports it and discards what it would otherwise have made durable; a sync
  // that succeeded after this failure on the same file proves nothing (the kernel may have
  // dropped the pages that failed).
  if (!closed_ && ec && !deferred_sync_error_) deferred_sync_error_ = ec;
}

void outbox_log::maybe_rotate() {
  if (closed_ || broken_ || segments_.empty() || !active_file_) return;
  const std::uint64_t size = active().size;
  // (A segment holding only its segment-start record is as small as a segment gets.)
  const bool idle = pending_index_.empty() && size > outbox_record_header_size &&
                    size >= std::min(options_.idle_rotate_bytes, options_.segment_bytes);
  if (!idle && size < options_.segment_bytes) return;
  // Leaving a segment leaves its unsynced bytes unsynced for good: only allowed when they hold
  // no data record that a later sync() must make durable (marks may be lost; delivered data
  // records need no durability any more).
  if (!idle && unsynced_first_seq_ != 0 && options_.fsync != fsync_policy::none) return;
  flush_marks();  // into the segment they were buffered for
  if (broken_) return;
  // A failure is not fatal: the current segment keeps growing and this is retried next time.
  if (start_segment(active().index + 1)) return;
  release_delivered_segments();
}

void outbox_log::release_delivered_segments() {
  // Only from the head: a segment's delivered-marks may retire records of any earlier segment,
  // so deleting one in the middle could bring those records back after a restart.
  while (segments_.size() > 1 && segments_.front().live == 0) {
    if (options_.remove_segment && !disk_work_inline_) {
      // On the disk worker; if the unlink fails there the file stays behind, and the next
      // recovery finds only delivered records in it and deletes it then.
      options_.remove_segment(dir_fd_.get(), segment_name(segments_.front().index));
    } else {
      const std::error_code ec = fs_.remove(dir_fd_.get(), segment_name(segments_.front().index));
      if (ec && ec != std::errc::no_such_file_or_directory) return;  // retried on the next call
      if (options_.fsync != fsync_policy::none) fs_.sync_directory(dir_fd_.get());
    }
    disk_bytes_ -= segments_.front().size;
    segments_.pop_front();
  }
}

std::error_code outbox_log::append(std::vector<outbox_entry>& batch) {
  std::vector<outbox_entry_view> views;
  views.reserve(batch.size());
  for (const auto& e : batch) views.push_back({0, e.key, e.payload, e.binary});
  auto ec = append(views);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].seq = views[i].seq;
  return ec;
}

std::error_code outbox_log::append(std::vector<outbox_entry_view>& batch) {
  if (closed_) return make_error_code(outbox_errc::closed);
  if (batch.empty()) return {};
  for (const auto& e : batch) {
    if (e.key.size() > outbox_max_key_size || e.payload.size() > outbox_max_payload_size) {
      return make_error_code(outbox_errc::record_too_large);
    }
  }
  // A seq at the limit could not be followed (the counter would wrap and the next record sort
  // first on reopen): refuse rather than write it. Unreachable in practice (see the limit).
  if (next_seq_ >= outbox_seq_limit || batch.size() > outbox_seq_limit - next_seq_) {
    return make_error_code(outbox_errc::seq_exhausted);
  }
  maybe_rotate();  // (does nothing while the file needs repair)
  if (auto ec = repair_if_broken()) return ec;

  // Buffered marks first, then the batch: still one write().
  write_buf_.assign(mark_buf_);
  for (auto& e : batch) {
    // Seqs are not handed back on failure: within a process a seq names one message only.
    e.seq = next_seq_++;
    encode_record(write_buf_, record_type::data, e.binary ? record_flag_binary : 0, e.seq, e.key,
                  e.payload);
  }
  const std::uint64_t before = active().size;
  if (auto ec = fs_.append(active_file_.get(), write_buf_)) {
    rollback_to(before, ec);  // the marks stay buffered for the next write
    return ec;
  }
  mark_buf_.clear();
  active().size += write_buf_.size();
  active().live += batch.size();
  disk_bytes_ += write_buf_.size();
  if (unsynced_first_seq_ == 0) unsynced_first_seq_ = batch.front().seq;
  for (const auto& e : batch) {
    pending_index_.push_back({e.seq, active().index});
    if (options_.keep_payloads) {
      pending_.push_back({e.seq, std::string(e.key), std::string(e.payload), e.binary});
      pending_bytes_ += e.payload.size();
    }
  }
  // One huge batch should not pin its buffer for the life of the socket.
  if (write_buf_.capacity() > (std::size_t{4} << 20)) std::string().swap(write_buf_);

  switch (options_.fsync) {
    case fsync_policy::none:
      synced_size_ = active().size;  // nothing to wait for: process-crash safety only
      unsynced_first_seq_ = 0;
      return {};
    case fsync_policy::always: return sync();
    case fsync_policy::batch: return {};
  }
  return {};
}

std::error_code outbox_log::sync() {
  if (closed_) return make_error_code(outbox_errc::closed);
  // A failed mark write only costs redeliveries; the data records are what sync() is about.
  flush_marks();
  if (deferred_sync_error_) {
    // Records were discarded since the last successful sync(): report it now, and discard the
    // rest of that group too, so "a sync() error rejects everything since the last success"
    // stays true for the caller.
    const std::error_code cause = deferred_sync_error_;
    deferred_sync_error_.clear();
    if (!broken_) rollback_unsynced();
    return cause;
  }
  if (auto ec = repair_if_broken()) return ec;
  if (options_.fsync == fsync_policy::none || synced_size_ == active().size) return {};
  if (auto ec = fs_.sync(active_file_.get())) {
    rollback_unsynced();
    return ec;
  }
  synced_size_ = active().size;
  unsynced_first_seq_ = 0;
  maybe_rotate();
  return {};
}

bool outbox_log::prepare_sync(sync_ticket& ticket, std::error_code& ec) {
  ec.clear();
  if (closed_) {
    ec = make_error_code(outbox_errc::closed);
    return false;
  }
  flush_marks();
  // Failure paths (a discarded group, a file that needs repair) are decided right here, the way
  // sync() always did; they are rare and their rollback needs the file now.
  if (deferred_sync_error_ || broken_) {
    ec = sync();
    return false;
  }
  if (options_.fsync == fsync_policy::none || synced_size_ == active().size) return false;
  // A duplicate, so a rotation that closes the active file meanwhile cannot hand the job a
  // descriptor number that now names another file.
  std::error_code dup_error;
  const int fd = fs_.duplicate(active_file_.get(), dup_error);
  if (fd < 0) {
    ec = sync();  // no descriptor to spare: sync right here instead
    return false;
  }
  ticket = {fd, active().index, active().size, next_seq_};
  return true;
}

std::error_code outbox_log::finish_sync(const sync_ticket& ticket, std::error_code synced) {
  if (closed_) return make_error_code(outbox_errc::closed);
  if (deferred_sync_error_ || broken_) return sync();  // reports and rolls back what it must
  if (ticket.segment != active().index) {
    // Only after a failed append forced a new segment, which already rejected the group.
    return synced;
  }
  if (synced) {
    rollback_unsynced();
    return synced;
  }
  synced_size_ = std::max(synced_size_, ticket.size);
  // Records appended after prepare_sync() (seqs from ticket.next_seq on) wait for the next one.
  if (synced_size_ >= active().size || next_seq_ == ticket.next_seq) {
    unsynced_first_seq_ = 0;
  } else if (unsynced_first_seq_ != 0 && unsynced_first_seq_ < ticket.next_seq) {
    unsynced_first_seq_ = ticket.next_seq;
  }
  maybe_rotate();
  return {};
}

std::error_code outbox_log::mark_delivered(std::uint64_t seq) { return retire(seq, false); }

std::error_code outbox_log::drop(std::uint64_t seq) { return retire(seq, true); }

std::error_code outbox_log::retire(std::uint64_t seq, bool dropped) {
  if (closed_) return make_error_code(outbox_errc::closed);
  auto it = std::lower_bound(pending_index_.begin(), pending_index_.end(), seq,
                             [](const pending_record& r, std::uint64_t s) { return r.seq < s; });
  if (it == pending_index_.end() || it->seq != seq) return {};
  if (segment* s = find_segment(it->segment)) --s->live;
  if (options_.keep_payloads) {
    const auto copy = pending_.begin() + (it - pending_index_.begin());
    pending_bytes_ -= copy->payload.size();
    pending_.erase(copy);
  }
  pending_index_.erase(it);
  if (dropped) ++dropped_;

  // Marks are buffered: a write() per delivered message would cost more than the message.
  // They go out with the next append (same write), at sync()/close(), when the buffer is full,
  // and when the outbox drains. A crash loses at most the buffer: redeliveries, never a loss.
  encode_record(mark_buf_, record_type::delivered, dropped ? record_flag_dropped : 0, seq, {}, {});
  std::error_code ec;
  if (mark_buf_.size() >= options_.mark_buffer_bytes || pending_index_.empty()) ec = flush_marks();
  release_delivered_segments();
  maybe_rotate();
  return ec;
}

std::error_code outbox_log::flush_marks() {
  if (mark_buf_.empty()) return {};
  std::error_code ec = repair_if_broken();
  if (!ec) {
    const std::uint64_t before = active().size;
    ec = fs_.append(active_file_.get(), mark_buf_);
    if (ec) {
      rollback_to(before, ec);
    } else {
      active().size += mark_buf_.size();
      disk_bytes_ += mark_buf_.size();
      if (options_.fsync == fsync_policy::none) synced_size_ = active().size;
    }
  }
  // Dropped on failure too: the buffer must not grow without bound while the disk is full.
  mark_buf_.clear();
  return ec;
}

void outbox_log::discard_unsynced() {
  // Pending is in seq order and everything unsynced was appended last: it is the back.
  if (unsynced_first_seq_ != 0) {
    while (!pending_index_.empty() && pending_index_.back().seq >= unsynced_first_seq_) {
      if (segment* s = find_segment(pending_index_.back().segment)) --s->live;
      pending_index_.pop_back();
      if (options_.keep_payloads) {
        pending_bytes_ -= pending_.back().payload.size();
        pending_.pop_back();
      }
    }
  }
  disk_bytes_ -= active().size - synced_size_;
  active().size = synced_size_;
  unsynced_first_seq_ = 0;
}

std::error_code outbox_log::rollback_to(std::uint64_t size, const std::error_code& cause) {
  const int fd = active_file_.get();
  std::error_code ec = fs_.truncate(fd, size);
  // Whole records of the failed write may already have reached the disk; the cut must too, or
  // they could come back after a power loss as messages whose send() was rejected.
  if (!ec && options_.fsync != fsync_policy::none) ec = fs_.sync(fd);
  if (!ec) ec = verify_active(synced_size_, size);
  if (!ec) return {};
  // The file is in an unknown state: give up on everything not yet synced (the next sync()
  // reports it) and repair the file before the next write.
  if (unsynced_first_seq_ != 0) deferred_sync_error_ = cause;
  discard_unsynced();
  broken_ = true;
  return ec;
}

std::error_code outbox_log::rollback_unsynced() {
  // After a failed fdatasync the kernel may already have dropped the dirty pages (they read
  // back fine from the cache but are not on disk), so nothing since the last good sync counts.
  discard_unsynced();
  const int fd = active_file_.get();
  std::error_code ec = fs_.truncate(fd, synced_size_);
  if (!ec && options_.fsync != fsync_policy::none) ec = fs_.sync(fd);
  if (!ec) ec = verify_active(synced_size_, synced_size_);
  if (ec) broken_ = true;
  return ec;
}

std::error_code outbox_log::verify_active(std::uint64_t from, std::uint64_t size) {
  // Re-verify from the last synced offset: the file must end exactly at `size`, and what lies
  // between must read back as whole, checksummed records.
  const int fd = active_file_.get();
  std::uint64_t actual = 0;
  if (auto ec = fs_.file_size(fd, actual)) return ec;
  if (actual != size) return make_error_code(outbox_errc::verify_failed);
  if (from >= size) return {};
  std::string bytes(static_cast<std::size_t>(size - from), '\0');
  std::size_t got = 0;
  if (auto ec = fs_.read_at(fd, from, bytes.data(), bytes.size(), got)) return ec;
  if (got != bytes.size()) return make_error_code(outbox_errc::verify_failed);
  std::string_view rest(bytes);
  record_view rec;
  while (!rest.empty()) {
    if (decode_record(rest, rec) != decode_status::ok) {
      return make_error_code(outbox_errc::verify_failed);
    }
    rest.remove_prefix(rec.size);
  }
  return {};
}

std::error_code outbox_log::repair_if_broken() {
  if (!broken_) return {};
  const int fd = active_file_.get();
  std::error_code ec = fs_.truncate(fd, active().size);
  if (!ec && options_.fsync != fsync_policy::none) ec = fs_.sync(fd);
  if (!ec) ec = verify_active(active().size, active().size);
  if (!ec) {
    broken_ = false;
    return {};
  }
  // This file will not shrink back: continue in a fresh segment. Everything the old one holds
  // up to its logical size is synced; recovery sees its extra bytes as a torn tail.
  return start_segment(active().index + 1);
}

std::error_code outbox_log::close() {
  if (closed_) return {};
  std::error_code ec;
  if (active_file_) {
    flush_marks();
    if (deferred_sync_error_) {
      ec = deferred_sync_error_;
    } else if (!broken_ && options_.fsync != fsync_policy::none && unsynced_first_seq_ != 0) {
      // Only for data records: marks are never synced on their own (a lost one costs a
      // redelivery), so a close after delivering everything does not wait for a disk.
      ec = fs_.sync(active_file_.get());
    }
  }
  closed_ = true;
  active_file_.reset();
  lock_.reset();
  return ec;
}

}  // namespace rws
