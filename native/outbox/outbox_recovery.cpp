#include "outbox/outbox_recovery.hpp"

#include <algorithm>
#include <string>

#include "outbox/crc32c.hpp"
#include "outbox/outbox_log.hpp"
#include "outbox/outbox_record.hpp"
#include "outbox/segment_name.hpp"

namespace rws {
namespace {

constexpr std::string_view record_magic("RWS1", 4);  // outbox_record_magic as it lies on disk
constexpr std::size_t npos = std::string_view::npos;

// One pass over one segment's bytes; the rules are in outbox_recovery.hpp.
class segment_scanner {
 public:
  segment_scanner(std::string_view bytes, std::uint64_t seq_floor, segment_recovery& out)
      : bytes_(bytes), floor_(seq_floor == 0 ? 1 : seq_floor), proof_budget_(2 * bytes.size()), out_(out) {}

  void run() {
    std::size_t pos = 0;
    std::size_t run_start = 0;
    record_view rec;
    while (pos < bytes_.size()) {
      const decode_status status = decode_record(bytes_.substr(pos), rec);
      if (status == decode_status::ok && fits(rec, pos)) {
        take(rec, pos);
        pos += rec.size;
        continue;
      }
      if (pos > run_start) out_.kept.emplace_back(run_start, pos);
      const std::size_t next = status == decode_status::incomplete
                                   ? proven_end(pos)
                                   : resume_after_damage(pos, status == decode_status::ok);
      if (next == npos) {
        out_.valid_end = pos;
        // A torn tail is never searched for records: its payload bytes are not records.
        if (status != decode_status::incomplete && holds_checksummed_record(pos)) {
          note_damage(pos, bytes_.size());
          raise_floor_past(pos);
        } else {
          out_.torn_bytes = bytes_.size() - pos;
        }
        finish();
        return;
      }
      note_damage(pos, next);
      pos = run_start = next;
    }
    if (pos > run_start) out_.kept.emplace_back(run_start, pos);
    out_.valid_end = pos;
    finish();
  }

 private:
  // Whether a whole, checksummed record at offset `at` fits the sequence so far.
  bool fits(const record_view& rec, std::size_t at) const {
    switch (rec.type) {
      case record_type::data: return rec.seq >= floor_ && rec.seq < outbox_seq_limit;
      case record_type::delivered: return true;  // retires something only below the floor
      case record_type::segment_start:
        return at == 0 && rec.seq >= floor_ && rec.seq < outbox_seq_limit;
    }
    return false;
  }

  // A data record found by scanning past damage that began at damage_start: its seq must
  // continue the sequence, allowing one lost seq per 24 skipped bytes (the smallest record).
  bool continues_after(const record_header& h, std::size_t at, std::size_t damage_start) const {
    if (h.type != static_cast<std::uint8_t>(record_type::data)) return false;
    if (h.seq < floor_ || h.seq >= outbox_seq_limit) return false;
    const std::uint64_t could_be_lost = (at - damage_start) / outbox_record_header_size;
    return h.seq - floor_ <= could_be_lost;
  }

  // Whether a damaged data record's header names the candidate's seq: then the candidate is not
  // the record after it (the writer never gives a seq twice) but, most likely, one its payload
  // embeds.
  static bool names_same_seq(const record_header& damaged, const record_header& candidate) {
    return damaged.type == static_cast<std::uint8_t>(record_type::data) && damaged.seq == candidate.seq;
  }

  void take(const record_view& rec, std::size_t at) {
    switch (rec.type) {
      case record_type::data:
        out_.data.push_back({rec.seq, at});
        floor_ = rec.seq + 1;
        ++out_.records;
        break;
      case record_type::delivered:
        if (rec.seq < floor_) out_.marks.push_back(rec.seq);
        ++out_.records;
        break;
      case record_type::segment_start: floor_ = rec.seq; break;
    }
  }

  // Damage at pos (a bad checksum, garbage, or a checksummed record that does not fit).
  std::size_t resume_after_damage(std::size_t pos, bool checksummed) {
    record_header h;
    if (!read_record_header(bytes_.substr(pos), h)) return npos;
    const std::size_t candidate = length_points_to_successor(pos, h, checksummed);
    if (checksummed) return candidate;
    // A damaged length field (the checksum does not cover it) is proven the way a cut one is:
    // the record's checksum verifies up to a later record start. That start wins over wherever
    // the damaged length points, which may be a record the payload embeds.
    const std::size_t proven = proven_end(pos);
    return proven != npos ? proven : candidate;
  }

  // Where the damaged record's own length points, if that is a record continuing the sequence;
  // npos otherwise. When the damaged record's checksum held, its length is the writer's and any
  // fitting record there is next in the chain. Otherwise only a data record in bounds counts,
  // only if it is not the seq the damaged header still names (the writer never gives a seq
  // twice, and a payload embedding a record with its own record's seq is exactly what a damaged
  // length would expose), and only if the data record after it fits as well.
  // Otherwise nothing behind the damage is trusted: searching the bytes for something that looks
  // like a record can land inside a payload, and a payload may hold any bytes (a fuzzer built one
  // that passed every sequence check). The rest of the segment stays in the quarantined copy and
  // the damage is reported.
  std::size_t length_points_to_successor(std::size_t pos, const record_header& h, bool checksummed) {
    if (h.total_len < outbox_record_header_size || h.total_len > outbox_max_record_size ||
        pos + h.total_len >= bytes_.size()) {
      return npos;
    }
    const std::size_t at = pos + h.total_len;
    record_view rec;
    record_header next;
    if (decode_record(bytes_.substr(at), rec) != decode_status::ok || !read_record_header(bytes_.substr(at), next)) {
      return npos;
    }
    if (checksummed) return fits(rec, at) ? at : npos;
    return continues_after(next, at, pos) && !names_same_seq(h, next) && successor_fits(at) ? at : npos;
  }

  // Whether the next data record after a candidate (following lengths, over any marks in
  // between) is whole and continues the sequence too. A record embedded in a payload is followed
  // by the rest of that payload, which is not a record, or by the real records after it, the
  // first data one of which has the seq the embedded record took: either way this fails. A real
  // record is followed by its successor — unless it is the segment's last data record, or a
  // second damage comes right after it: that one record then stays in the quarantined copy only
  // (the price of never taking a record that may live in a payload). At most a few hundred marks
  // are stepped over, so scanning stays linear.
  bool successor_fits(std::size_t at) {
    static constexpr int max_marks_between = 256;
    record_view rec;
    if (decode_record(bytes_.substr(at), rec) != decode_status::ok) return false;
    const std::uint64_t saved_floor = floor_;
    floor_ = rec.seq + 1;  // candidates are data records
    bool fits_too = false;
    std::size_t next = at + rec.size;
    // The end of the bytes or a torn tail right after does not count: that is exactly where a
    // cut through a payload that embeds a record leaves the embedded one.
    for (int marks = 0; marks <= max_marks_between && next < bytes_.size(); ++marks) {
      if (decode_record(bytes_.substr(next), rec) != decode_status::ok || !fits(rec, next)) break;
      if (rec.type == record_type::data) {
        fits_too = true;
        break;
      }
      next += rec.size;
    }
    floor_ = saved_floor;
    return fits_too;
  }

  // Where the record at pos really ends, if its length field (which the checksum does not
  // cover) was damaged: the first later record start at which its own checksum verifies and a
  // record that fits begins. One checksum pass, extended from one magic occurrence to the next.
  // Used for a record that claims to run past the end (normally a torn tail) and for one whose
  // checksum failed. All searches of one scan share a budget of twice the segment's size, so
  // heavy damage keeps recovery linear; with the budget spent, nothing more is proven.
  std::size_t proven_end(std::size_t pos) {
    record_header h;
    if (!read_record_header(bytes_.substr(pos), h)) return npos;
    const std::size_t checked_from = pos + 12;  // the checksum covers bytes 12 .. total_len
    std::uint32_t crc = 0;
    std::size_t covered = checked_from;
    const std::size_t min_end = pos + outbox_record_header_size + h.key_len;
    const std::uint64_t floor_after =
        h.type == static_cast<std::uint8_t>(record_type::data) && h.seq >= floor_ &&
                h.seq < outbox_seq_limit
            ? h.seq + 1
            : floor_;
    record_view rec;
    for (std::size_t at = bytes_.find(record_magic, min_end); at != npos;
         at = bytes_.find(record_magic, at + 1)) {
      if (at - pos > outbox_max_record_size) break;
      if (at - covered > proof_budget_) {
        proof_budget_ = 0;
        return npos;
      }
      proof_budget_ -= at - covered;
      crc = crc32c_extend(crc, bytes_.data() + covered, at - covered);
      covered = at;
      if (crc != h.crc) continue;
      if (decode_record(bytes_.substr(at), rec) != decode_status::ok) continue;
      const std::uint64_t saved = floor_;
      floor_ = floor_after;
      if (fits(rec, at)) return at;
      floor_ = saved;
    }
    return npos;
  }

  bool holds_checksummed_record(std::size_t from) const {
    record_view rec;
    for (std::size_t at = bytes_.find(record_magic, from); at != npos;
         at = bytes_.find(record_magic, at + 1)) {
      if (decode_record(bytes_.substr(at), rec) == decode_status::ok) return true;
    }
    return false;
  }

  // Records behind damage that are not taken stay in the quarantined copy; the next seq still
  // goes above every seq that looks written there, so no seq is ever given out twice.
  void raise_floor_past(std::size_t from) {
    record_view rec;
    for (std::size_t at = bytes_.find(record_magic, from); at != npos; at = bytes_.find(record_magic, at + 1)) {
      if (decode_record(bytes_.substr(at), rec) == decode_status::ok && rec.type == record_type::data &&
          rec.seq >= floor_ && rec.seq < outbox_seq_limit - 1) {
        floor_ = rec.seq + 1;
      }
    }
  }

  void note_damage(std::size_t from, std::size_t to) {
    if (out_.damaged_bytes == 0) out_.first_damage = from;
    out_.damaged_bytes += to - from;
  }

  void finish() { out_.next_seq = floor_; }

  std::string_view bytes_;
  std::uint64_t floor_;  // the lowest seq the next data record may have
  std::size_t proof_budget_;  // checksum bytes proven_end() may still spend
  segment_recovery& out_;
};

}  // namespace

segment_recovery recover_segment(std::string_view bytes, std::uint64_t seq_floor) {
  segment_recovery out;
  segment_scanner(bytes, seq_floor, out).run();
  return out;
}

}  // namespace rws

// ---- outbox_log::recover: every segment of the directory ----------------------------------------

namespace rws {
namespace {

// Where recovery found a data record: enough to read it again if it turns out to be pending,
// so delivered records cost no allocation at all.
struct data_location {
  std::uint64_t seq;
  std::size_t segment;  // position in segments_
  std::uint64_t offset;
};

}  // namespace

std::error_code outbox_log::recover(outbox_recovery_report& report) {
  std::vector<std::string> names;
  if (auto ec = fs_.list_directory(dir_fd_.get(), names)) return ec;
  std::vector<std::uint64_t> indices;
  for (const auto& name : names) {
    std::uint64_t index;
    if (parse_segment_name(name, index)) {
      indices.push_back(index);
    } else if (name.starts_with(segment_prefix) && name.ends_with(temp_suffix)) {
      // An interrupted quarantine: the segment it was replacing is still intact, and the copy
      // is made again below.
      fs_.remove(dir_fd_.get(), name);
    }
  }
  std::sort(indices.begin(), indices.end());

  // A segment is never legitimately much larger than segment_bytes (it overshoots by one group
  // at most); the bound only keeps a foreign giant file from exhausting memory.
  const std::uint64_t max_segment =
      std::max<std::uint64_t>(options_.segment_bytes * 4, std::uint64_t{1} << 30);

  std::vector<data_location> data;
  std::vector<std::uint64_t> marks;
  std::uint64_t seq_floor = 1;  // data records of the next segment must be at least this
  std::string buf;              // one segment at a time, capacity reused
  std::size_t buf_segment = SIZE_MAX;
  bool removed_any = false;

  for (const std::uint64_t index : indices) {
    const std::string name = segment_name(index);
    std::error_code ec;
    file_handle file(fs_, fs_.open(dir_fd_.get(), name, open_mode::read_append, ec));
    if (ec) return ec;
    if ((ec = read_whole_file(fs_, file.get(), buf, max_segment))) return ec;

    const std::size_t position = segments_.size();
    segment_recovery found = recover_segment(buf, seq_floor);
    std::uint64_t size = found.valid_end;
    report.torn_bytes_truncated += found.torn_bytes;
    if (found.damaged_bytes > 0) {
      // Keep the damaged file as found, then replace the segment with its accepted records
      // only, so the damage is reported once and the next recovery reads a clean file.
      std::string quarantine = name + ".corrupt";
      for (int n = 2; std::find(names.begin(), names.end(), quarantine) != names.end(); ++n) {
        quarantine = name + ".corrupt." + std::to_string(n);
      }
      const bool durable = options_.fsync != fsync_policy::none;
      if ((ec = write_file_atomic(fs_, dir_fd_.get(), quarantine, buf, durable))) return ec;
      std::string clean;
      for (const auto& [begin, end] : found.kept) clean.append(buf, begin, end - begin);
      // Every run was accepted in sequence: this finds exactly those records again, at their
      // offsets in the clean file.
      segment_recovery rescan = recover_segment(clean, seq_floor);
      if ((ec = write_file_atomic(fs_, dir_fd_.get(), name, clean, durable))) return ec;
      ++report.corrupt_segments_quarantined;
      if (!report.corrupt_detail.empty()) report.corrupt_detail += '\n';
      report.corrupt_detail += name + ": " + std::to_string(found.damaged_bytes) +
                               " damaged bytes from offset " + std::to_string(found.first_damage) +
                               " skipped, " + std::to_string(rescan.records) +
                               " valid records kept; the original is saved as " + quarantine;
      size = clean.size();
      buf.swap(clean);
      // The clean file lacks what stayed in quarantine; the next seq still goes above it.
      rescan.next_seq = std::max(rescan.next_seq, found.next_seq);
      found = std::move(rescan);
    } else if (found.torn_bytes > 0) {
      // A torn tail: a write the crash interrupted. Nothing in it was ever reported durable.
      if ((ec = fs_.truncate(file.get(), size))) return ec;
      if (options_.fsync != fsync_policy::none && (ec = sync_soon(file.get()))) return ec;
    }
    for (const auto& d : found.data) data.push_back({d.seq, position, d.offset});
    marks.insert(marks.end(), found.marks.begin(), found.marks.end());
    seq_floor = std::max(seq_floor, found.next_seq);
    segments_.push_back({index, size, 0});
    disk_bytes_ += size;
    buf_segment = position;
  }

  // Pending = data records without a delivered-mark. Seqs strictly increase across segments
  // (each segment's floor is the previous one's next_seq), so `data` is sorted; marks retire
  // records of any earlier place and are sorted here.
  report.records_recovered = data.size();
  if (!std::is_sorted(marks.begin(), marks.end())) std::sort(marks.begin(), marks.end());
  std::size_t kept = 0;
  std::size_t m = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    while (m < marks.size() && marks[m] < data[i].seq) ++m;
    if (m < marks.size() && marks[m] == data[i].seq) continue;
    data[kept++] = data[i];
  }
  data.resize(kept);
  std::vector<std::uint64_t>().swap(marks);

  // Read the pending records back (a second read only of segments that hold any). They are in
  // file order, so each segment is read at most once.
  std::size_t loaded = buf_segment;
  for (const auto& d : data) {
    if (d.segment != loaded) {
      std::error_code ec;
      file_handle file(fs_, fs_.open(dir_fd_.get(), segment_name(segments_[d.segment].index),
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
    segment& s = segments_[d.segment];
    ++s.live;
    pending_index_.push_back({rec.seq, s.index});
    if (options_.keep_payloads) {
      pending_.push_back({rec.seq, std::string(rec.key), std::string(rec.payload), rec.binary()});
      pending_bytes_ += rec.payload.size();
    } else {
      if (options_.take_recovered) options_.take_recovered({rec.seq, rec.key, rec.payload, rec.binary()});
    }
  }
  next_seq_ = seq_floor;
  report.records_pending = pending_index_.size();

  // Choose the segment to append to: the last one, unless it is full or empty (its
  // segment-start record was torn) — then a new one after every index ever seen.
  std::error_code ec;
  if (!segments_.empty() && segments_.back().size == 0) {
    fs_.remove(dir_fd_.get(), segment_name(segments_.back().index));
    segments_.pop_back();
    removed_any = true;
  }
  file_handle last;
  if (!segments_.empty()) {
    last = file_handle(fs_, fs_.open(dir_fd_.get(), segment_name(segments_.back().index),
                                     open_mode::read_append, ec));
    if (ec) return ec;
    // Whatever the previous process left in the page cache is made durable now, so a later
    // sync() failure never has to take back records from before this open.
    if (options_.fsync != fsync_policy::none && (ec = sync_soon(last.get()))) return ec;
  }
  if (removed_any && options_.fsync != fsync_policy::none) fs_.sync_directory(dir_fd_.get());
  // After a quarantine the next seq may lie above every record left in the files (seqs that
  // stayed in the `.corrupt` copy): only a new segment's segment-start carries it to the next
  // process, which would otherwise give those seqs out again. (If that segment cannot be
  // created, the fallback below keeps appending and the next append's records carry it.)
  if (last && segments_.back().size < options_.segment_bytes && report.corrupt_segments_quarantined == 0) {
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

}  // namespace rws
