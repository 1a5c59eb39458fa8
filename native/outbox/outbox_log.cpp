#include "outbox/outbox_log.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <numeric>
#include <string_view>

#include "outbox/outbox_record.hpp"

namespace rws {
namespace {

constexpr std::string_view segment_prefix = "seg-";
constexpr std::string_view segment_suffix = ".log";
constexpr std::size_t segment_name_size = segment_prefix.size() + 16 + segment_suffix.size();
constexpr std::string_view temp_suffix = ".tmp";

std::string segment_name(std::uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016" PRIx64 ".log", index);
  return name;
}

bool parse_segment_name(std::string_view name, std::uint64_t& index) {
  if (name.size() != segment_name_size || !name.starts_with(segment_prefix) ||
      !name.ends_with(segment_suffix)) {
    return false;
  }
  index = 0;
  for (char c : name.substr(segment_prefix.size(), 16)) {
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    index = (index << 4) | digit;
  }
  return true;
}

// The next offset after `from` where a whole, checksummed record starts, or npos. Used only
// past damage, so its cost (a decode per occurrence of the magic) is off the normal path.
std::size_t resync(std::string_view bytes, std::size_t from) {
  const char magic[4] = {'R', 'W', 'S', '1'};
  const std::string_view needle(magic, sizeof magic);
  record_view rec;
  for (std::size_t at = bytes.find(needle, from); at != std::string_view::npos;
       at = bytes.find(needle, at + 1)) {
    if (decode_record(bytes.substr(at), rec) == decode_status::ok) return at;
  }
  return std::string_view::npos;
}

// Where recovery found a data record: enough to read it again if it turns out to be pending,
// so delivered records cost no allocation at all.
struct data_location {
  std::uint64_t seq;
  std::size_t segment;  // position in segments_
  std::uint64_t offset;
};

struct segment_scan {
  std::vector<std::pair<std::size_t, std::size_t>> good;  // [begin, end) runs of valid records
  std::size_t records = 0;  // data records and marks
  std::size_t valid_end = 0;      // end of the last valid record
  std::size_t tail_bytes = 0;     // after valid_end: no valid record follows
  std::size_t damaged_bytes = 0;  // skipped in the middle: valid records follow
  std::size_t first_damage = 0;
};

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
  ec = fs.create_directory(dir);
  if (ec) return nullptr;
  const int lock_fd = fs.lock(join_path(dir, "LOCK"), ec);
  if (ec) return nullptr;
  std::unique_ptr<outbox_log> log(new outbox_log(fs, std::move(dir), options));
  log->lock_ = file_handle(fs, lock_fd);
  ec = log->recover(report);
  if (ec) return nullptr;  // the destructor releases the lock
  return log;
}

std::string outbox_log::segment_path(std::uint64_t index) const {
  return join_path(dir_, segment_name(index));
}

outbox_log::segment* outbox_log::find_segment(std::uint64_t index) {
  if (!segments_.empty() && segments_.back().index == index) return &segments_.back();
  auto it = std::lower_bound(segments_.begin(), segments_.end(), index,
                             [](const segment& s, std::uint64_t i) { return s.index < i; });
  return (it != segments_.end() && it->index == index) ? &*it : nullptr;
}

std::error_code outbox_log::recover(outbox_recovery_report& report) {
  std::vector<std::string> names;
  if (auto ec = fs_.list_directory(dir_, names)) return ec;
  std::vector<std::uint64_t> indices;
  for (const auto& name : names) {
    std::uint64_t index;
    if (parse_segment_name(name, index)) {
      indices.push_back(index);
    } else if (name.starts_with(segment_prefix) && name.ends_with(temp_suffix)) {
      // An interrupted quarantine: the segment it was replacing is still intact, and the copy
      // is made again below.
      fs_.remove(join_path(dir_, name));
    }
  }
  std::sort(indices.begin(), indices.end());

  // A segment is never legitimately much larger than segment_bytes (it overshoots by one group
  // at most); the bound only keeps a foreign giant file from exhausting memory.
  const std::uint64_t max_segment =
      std::max<std::uint64_t>(options_.segment_bytes * 4, std::uint64_t{1} << 30);

  std::vector<data_location> data;
  std::vector<std::uint64_t> marks;
  std::uint64_t seq_floor = 1;  // the next seq may not be lower than this
  std::string buf;              // one segment at a time, capacity reused
  std::size_t buf_segment = SIZE_MAX;

  for (const std::uint64_t index : indices) {
    const std::string name = segment_name(index);
    std::error_code ec;
    file_handle file(fs_, fs_.open(join_path(dir_, name), open_mode::read_append, ec));
    if (ec) return ec;
    if ((ec = read_whole_file(fs_, file.get(), buf, max_segment))) return ec;

    const std::size_t position = segments_.size();
    const std::size_t data_before = data.size();
    const std::size_t marks_before = marks.size();
    // One pass over the bytes, no allocation per record: delivered records are only counted.
    auto scan = [&](std::string_view bytes, segment_scan& s) {
      std::size_t pos = 0;
      std::size_t run_start = 0;
      record_view rec;
      while (pos < bytes.size()) {
        if (decode_record(bytes.substr(pos), rec) == decode_status::ok) {
          switch (rec.type) {
            case record_type::data: data.push_back({rec.seq, position, pos}); break;
            case record_type::delivered: marks.push_back(rec.seq); break;
            case record_type::segment_start: break;
          }
          const std::uint64_t floor = rec.type == record_type::segment_start ? rec.seq : rec.seq + 1;
          seq_floor = std::max(seq_floor, floor);
          if (rec.type != record_type::segment_start) ++s.records;
          pos += rec.size;
          continue;
        }
        // Damage or a torn tail. Damage is what has a valid record somewhere after it.
        if (pos > run_start) s.good.emplace_back(run_start, pos);
        const std::size_t next = resync(bytes, pos + 1);
        if (next == std::string_view::npos) {
          s.valid_end = pos;
          s.tail_bytes = bytes.size() - pos;
          return;
        }
        if (s.damaged_bytes == 0) s.first_damage = pos;
        s.damaged_bytes += next - pos;
        pos = run_start = next;
      }
      if (pos > run_start) s.good.emplace_back(run_start, pos);
      s.valid_end = pos;
    };

    segment_scan s;
    scan(buf, s);
    std::uint64_t size = s.valid_end;
    report.torn_bytes_truncated += s.tail_bytes;
    if (s.damaged_bytes > 0) {
      // Keep the damaged file as found, then replace the segment with its valid records only,
      // so the damage is reported once and the next recovery reads a clean file.
      std::string quarantine = name + ".corrupt";
      for (int n = 2; std::find(names.begin(), names.end(), quarantine) != names.end(); ++n) {
        quarantine = name + ".corrupt." + std::to_string(n);
      }
      if ((ec = write_file_atomic(fs_, dir_, quarantine, buf))) return ec;
      std::string clean;
      for (const auto& [begin, end] : s.good) clean.append(buf, begin, end - begin);
      data.resize(data_before);
      marks.resize(marks_before);
      segment_scan rescan;
      scan(clean, rescan);  // every run was validated: this finds exactly those records again
      if ((ec = write_file_atomic(fs_, dir_, name, clean))) return ec;
      ++report.corrupt_segments_quarantined;
      if (!report.corrupt_detail.empty()) report.corrupt_detail += '\n';
      report.corrupt_detail += name + ": " + std::to_string(s.damaged_bytes) +
                               " damaged bytes from offset " + std::to_string(s.first_damage) +
                               " skipped, " + std::to_string(rescan.records) +
                               " valid records kept; the original is saved as " + quarantine;
      size = clean.size();
      buf.swap(clean);
    } else if (s.tail_bytes > 0) {
      // A torn tail: a write the crash interrupted. Nothing in it was ever reported durable.
      if ((ec = fs_.truncate(file.get(), size))) return ec;
      if (options_.fsync != fsync_policy::none && (ec = fs_.sync(file.get()))) return ec;
    }
    segments_.push_back({index, size, 0});
    disk_bytes_ += size;
    buf_segment = position;
  }

  // Pending = data records without a delivered-mark. The log is in seq order unless damage
  // shuffled something, so the sorts below are normally just checks.
  report.records_recovered = data.size();
  const auto by_seq = [](const data_location& a, const data_location& b) { return a.seq < b.seq; };
  if (!std::is_sorted(data.begin(), data.end(), by_seq)) {
    std::stable_sort(data.begin(), data.end(), by_seq);
  }
  if (!std::is_sorted(marks.begin(), marks.end())) std::sort(marks.begin(), marks.end());
  std::size_t kept = 0;
  std::size_t m = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i > 0 && data[i].seq == data[i - 1].seq) continue;  // a duplicate: the first copy counts
    while (m < marks.size() && marks[m] < data[i].seq) ++m;
    if (m < marks.size() && marks[m] == data[i].seq) continue;
    data[kept++] = data[i];
  }
  data.resize(kept);
  std::vector<std::uint64_t>().swap(marks);

  // Read the pending records back (a second read only of segments that hold any).
  std::size_t loaded = buf_segment;
  auto load = [&](const data_location& d, outbox_entry& e) -> std::error_code {
    if (d.segment != loaded) {
      std::error_code ec;
      file_handle file(fs_, fs_.open(segment_path(segments_[d.segment].index),
                                     open_mode::read_only, ec));
      if (ec) return ec;
      if ((ec = read_whole_file(fs_, file.get(), buf, max_segment))) return ec;
      loaded = d.segment;
    }
    record_view rec;
    if (d.offset >= buf.size() ||
        decode_record(std::string_view(buf).substr(d.offset), rec) != decode_status::ok ||
        rec.type != record_type::data || rec.seq != d.seq) {
      return make_error_code(outbox_errc::verify_failed);  // the file changed under the lock
    }
    e.seq = rec.seq;
    e.key.assign(rec.key);
    e.payload.assign(rec.payload);
    e.binary = rec.binary();
    return {};
  };
  const auto by_place = [](const data_location& a, const data_location& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  };
  if (std::is_sorted(data.begin(), data.end(), by_place)) {
    for (const auto& d : data) {
      pending_.emplace_back();
      if (auto ec = load(d, pending_.back())) return ec;
    }
  } else {
    // Only after damage: read in file order (each segment once), keep seq order.
    std::vector<std::size_t> order(data.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return by_place(data[a], data[b]); });
    std::vector<outbox_entry> entries(data.size());
    for (const std::size_t i : order) {
      if (auto ec = load(data[i], entries[i])) return ec;
    }
    for (auto& e : entries) pending_.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    segment& s = segments_[data[i].segment];
    ++s.live;
    pending_segment_.push_back(s.index);
    pending_bytes_ += pending_[i].payload.size();
  }
  next_seq_ = seq_floor;
  report.records_pending = pending_.size();

  // Choose the segment to append to: the last one, unless it is full or empty (its
  // segment-start record was torn) — then a new one after every index ever seen.
  std::error_code ec;
  if (!segments_.empty() && segments_.back().size == 0) {
    fs_.remove(segment_path(segments_.back().index));
    segments_.pop_back();
  }
  file_handle last;
  if (!segments_.empty()) {
    last = file_handle(fs_, fs_.open(segment_path(segments_.back().index),
                                     open_mode::read_append, ec));
    if (ec) return ec;
    // Whatever the previous process left in the page cache is made durable now, so a later
    // sync() failure never has to take back records from before this open.
    if (options_.fsync != fsync_policy::none && (ec = fs_.sync(last.get()))) return ec;
  }
  if (last && segments_.back().size < options_.segment_bytes) {
    active_file_ = std::move(last);
    synced_size_ = segments_.back().size;
  } else {
    const std::uint64_t index = indices.empty() ? 1 : indices.back() + 1;
    if ((ec = start_segment(index))) {
      // A full disk must not keep the outbox from opening (and draining, which frees space):
      // keep appending to the last segment instead.
      if (!last) return ec;
      active_file_ = std::move(last);
      synced_size_ = segments_.back().size;
    }
  }
  release_delivered_segments();
  maybe_rotate();
  return {};
}

std::error_code outbox_log::start_segment(std::uint64_t index) {
  const std::string path = segment_path(index);
  std::error_code ec;
  file_handle file(fs_, fs_.open(path, open_mode::read_append, ec));
  if (ec) return ec;
  // The index is new, so any content is debris of an earlier failed attempt.
  ec = fs_.truncate(file.get(), 0);
  std::string header;
  encode_record(header, record_type::segment_start, 0, next_seq_, {}, {});
  if (!ec) ec = fs_.append(file.get(), header);
  // The segment-start record (and the new name) must be durable before older segments may be
  // deleted: it is what keeps seqs counting up after a restart.
  if (!ec && options_.fsync != fsync_policy::none) {
    ec = fs_.sync(file.get());
    if (!ec) ec = fs_.sync_directory(dir_);
  }
  if (ec) {
    file.reset();
    fs_.remove(path);
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

void outbox_log::maybe_rotate() {
  if (closed_ || broken_ || segments_.empty() || !active_file_) return;
  const std::uint64_t size = active().size;
  // (A segment holding only its segment-start record is as small as a segment gets.)
  const bool idle = pending_.empty() && size > outbox_record_header_size &&
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
    const std::error_code ec = fs_.remove(segment_path(segments_.front().index));
    if (ec && ec != std::errc::no_such_file_or_directory) return;  // retried on the next call
    disk_bytes_ -= segments_.front().size;
    segments_.pop_front();
  }
}

std::error_code outbox_log::append(std::vector<outbox_entry>& batch) {
  if (closed_) return make_error_code(outbox_errc::closed);
  if (batch.empty()) return {};
  for (const auto& e : batch) {
    if (e.key.size() > outbox_max_key_size || e.payload.size() > outbox_max_payload_size) {
      return make_error_code(outbox_errc::record_too_large);
    }
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
    if (options_.keep_payloads) {
      pending_.push_back(e);
      pending_bytes_ += e.payload.size();
    } else {
      pending_.push_back({e.seq, {}, {}, e.binary});
    }
    pending_segment_.push_back(active().index);
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

std::error_code outbox_log::mark_delivered(std::uint64_t seq) { return retire(seq, false); }

std::error_code outbox_log::drop(std::uint64_t seq) { return retire(seq, true); }

std::error_code outbox_log::retire(std::uint64_t seq, bool dropped) {
  if (closed_) return make_error_code(outbox_errc::closed);
  auto it = std::lower_bound(pending_.begin(), pending_.end(), seq,
                             [](const outbox_entry& e, std::uint64_t s) { return e.seq < s; });
  if (it == pending_.end() || it->seq != seq) return {};
  const auto position = it - pending_.begin();
  const std::uint64_t index = pending_segment_[static_cast<std::size_t>(position)];
  pending_bytes_ -= it->payload.size();
  pending_.erase(it);
  pending_segment_.erase(pending_segment_.begin() + position);
  if (segment* s = find_segment(index)) --s->live;
  if (dropped) ++dropped_;

  // Marks are buffered: a write() per delivered message would cost more than the message.
  // They go out with the next append (same write), at sync()/close(), when the buffer is full,
  // and when the outbox drains. A crash loses at most the buffer: redeliveries, never a loss.
  encode_record(mark_buf_, record_type::delivered, dropped ? record_flag_dropped : 0, seq, {}, {});
  std::error_code ec;
  if (mark_buf_.size() >= options_.mark_buffer_bytes || pending_.empty()) ec = flush_marks();
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
    while (!pending_.empty() && pending_.back().seq >= unsynced_first_seq_) {
      if (segment* s = find_segment(pending_segment_.back())) --s->live;
      pending_bytes_ -= pending_.back().payload.size();
      pending_.pop_back();
      pending_segment_.pop_back();
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
    } else if (!broken_ && options_.fsync != fsync_policy::none &&
               synced_size_ != active().size) {
      ec = fs_.sync(active_file_.get());
    }
  }
  closed_ = true;
  active_file_.reset();
  lock_.reset();
  return ec;
}

}  // namespace rws
