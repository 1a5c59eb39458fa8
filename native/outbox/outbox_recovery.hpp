#pragma once
// Recovery of one outbox segment file, as a pure function of its bytes: no I/O, so it
// is unit-tested and fuzzed on byte strings alone (native/fuzz/outbox_recovery_fuzz.cpp).
// outbox_log::open() runs it over every segment in index order and acts on the result
// (truncate a torn tail, quarantine a damaged segment, load the pending records).
//
// Rules — recovery only ever returns records the writer wrote:
// - Records are followed by their lengths from offset 0. A record is accepted when it is whole,
//   its checksum matches, and its seq fits the sequence: a data record's seq is at least the
//   floor (one past the previous data record, or the segment-start's seq) and below
//   outbox_seq_limit; a segment-start only at offset 0; a delivered-mark retires only a seq below
//   the floor (a mark for anything else is kept but retires nothing).
// - A record that runs past the end of the bytes (`incomplete`) is a torn tail: the write a
//   crash interrupted. Everything from it on is truncated and never searched for records, since
//   its payload may hold bytes that look like records (a binary message that embeds one). The
//   one exception is a damaged length field in the middle: if the cut-off record's own checksum
//   verifies with the length that ends exactly where a later acceptable record starts, the
//   length is what was damaged and scanning resumes there (a 32-bit checksum proves it).
// - Anything else that is not acceptable (bad checksum, garbage, an out-of-sequence or
//   unfollowable seq) is damage. A bad checksum is first tried as a damaged length, as above.
//   Otherwise scanning resumes only where the damaged record's own length points, if the record
//   there fits — and, unless the damaged record's checksum held (so its length is the writer's),
//   only if its seq is not the one the damaged header names and the data record after it
//   (stepping over marks) is whole and fits too. Checksum searches share a budget of twice the
//   segment's size. The bytes behind damage are never searched for something that looks like a
//   record: a payload may hold any bytes, consecutive records with the next seqs included (found
//   by fuzz_outbox_recovery). What is not taken stays in the quarantined copy; the next seq goes
//   above every checksummed seq seen there, so no seq is given out twice by this process, nor
//   by a later one (outbox_log::recover then starts a new segment that records that floor).
// - Damage followed by nothing acceptable: a tail. It is truncated when it holds no checksummed
//   record at all (zeros, garbage, a torn write) and counted as damage (quarantined, reported)
//   when it does, so refused records stay available for inspection in the `.corrupt` copy.
// Residual risk, stated: a payload crafted to embed two consecutive records with exactly the
// next seqs, sitting right behind damage in the middle, can still be mistaken for lost records.
// And damage that shifts bytes (which storage does not do) can remove exactly the header of a
// record whose payload is a whole record: what is left is a valid log holding that record.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace rws {

struct recovered_data {
  std::uint64_t seq;
  std::size_t offset;  // where the record starts in the bytes given to recover_segment
};

struct segment_recovery {
  // Invariants: data seqs strictly increase, all >= the seq_floor passed in and
  // < outbox_seq_limit; every entry is a whole, checksummed data record at `offset`.
  std::vector<recovered_data> data;
  std::vector<std::uint64_t> marks;  // seqs retired by delivered-marks, each < its floor
  // [begin, end) runs of accepted records, in order; concatenated they form the clean segment.
  std::vector<std::pair<std::size_t, std::size_t>> kept;
  std::uint64_t next_seq = 1;  // the floor after this segment: the next segment starts here
  std::size_t records = 0;     // accepted data records and marks
  std::size_t valid_end = 0;   // end of the last accepted record
  std::size_t torn_bytes = 0;  // from valid_end to the end: truncate (nothing checksummed there)
  // Bytes refused before valid_end, plus a refused tail that held checksummed records. Non-zero:
  // the segment must be quarantined and rewritten from `kept`.
  std::size_t damaged_bytes = 0;
  std::size_t first_damage = 0;  // offset of the first damaged byte (when damaged_bytes > 0)
};

// Recovers one segment. seq_floor: the lowest seq a data record in it may have (the next_seq
// of the previous segment; 1 for the first). Never reads outside bytes, never allocates per byte
// scanned, and runs in linear time except for a checksum per magic occurrence behind damage.
segment_recovery recover_segment(std::string_view bytes, std::uint64_t seq_floor = 1);

}  // namespace rws
