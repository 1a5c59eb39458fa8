#pragma once
// The on-disk record of the outbox log. Pure: no I/O, so it is unit-tested and fuzzed
// on byte strings alone.
//
// ---- Outbox record format (version 1) --------------------------------------------------------
// A segment file (`seg-<16 hex digits>.log`) is a plain concatenation of records. Every integer
// is little-endian; there is no padding and no per-file header other than the first record.
//
//   offset  size  field
//        0     4  magic      0x31535752 (the bytes "RWS1")
//        4     4  total_len  size of the whole record, header included: 24 + key_len + payload
//        8     4  crc32c     CRC32C (Castagnoli) of bytes 12 .. total_len (everything after it)
//       12     1  type       1 = data, 2 = delivered-mark, 3 = segment-start
//       13     1  flags      bit 0: binary payload (data); bit 1: dropped, not delivered (mark);
//                            other bits must be 0
//       14     2  key_len    length of the idempotency key (0 for marks and segment-start)
//       16     8  seq        data: the record's sequence number; delivered-mark: the seq it
//                            retires; segment-start: the next seq when the segment was created
//       24     …  key        key_len bytes (UTF-8 idempotency key)
//        …     …  payload    total_len - 24 - key_len bytes (the message as sent); data only
//
// Limits: key_len <= 65535, payload <= 64 MiB, so total_len <= 24 + 65535 + 64 MiB.
// A segment starts with a segment-start record, so sequence numbers keep counting across
// restarts even after every data record was delivered and deleted. A data record is pending
// until a delivered-mark with its seq appears later in the log.
// Decoding a byte range yields ok (one whole, checksummed record), incomplete (the bytes end
// inside a record whose header is plausible: a torn tail) or corrupt (anything else). What
// recovery accepts (records in sequence only; a torn tail is never searched) is in
// outbox_recovery.hpp.
// ----------------------------------------------------------------------------------------------
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rws {

inline constexpr std::uint32_t outbox_record_magic = 0x31535752u;  // "RWS1" on disk
inline constexpr std::size_t outbox_record_header_size = 24;
inline constexpr std::size_t outbox_max_key_size = 0xFFFF;
inline constexpr std::size_t outbox_max_payload_size = std::size_t{64} << 20;
inline constexpr std::size_t outbox_max_record_size =
    outbox_record_header_size + outbox_max_key_size + outbox_max_payload_size;

// Seqs at or above this are never written and never accepted by recovery: a record carrying one
// could not be followed without the counter wrapping (2^63 records at a million a second is
// 290,000 years, so the limit costs nothing real).
inline constexpr std::uint64_t outbox_seq_limit = std::uint64_t{1} << 63;

enum class record_type : std::uint8_t { data = 1, delivered = 2, segment_start = 3 };

inline constexpr std::uint8_t record_flag_binary = 0x01;
inline constexpr std::uint8_t record_flag_dropped = 0x02;

// A decoded record; key and payload point into the decoded buffer (valid as long as it is).
struct record_view {
  record_type type = record_type::data;
  std::uint8_t flags = 0;
  std::uint64_t seq = 0;
  std::string_view key;
  std::string_view payload;
  std::uint32_t size = 0;  // total_len: where the next record starts

  bool binary() const { return (flags & record_flag_binary) != 0; }
  bool dropped() const { return (flags & record_flag_dropped) != 0; }
};

enum class decode_status : std::uint8_t { ok, incomplete, corrupt };

inline constexpr std::size_t encoded_record_size(std::size_t key_size, std::size_t payload_size) {
  return outbox_record_header_size + key_size + payload_size;
}

// Appends one encoded record to out. The caller checks the limits first (key <= 64 KiB - 1,
// payload <= 64 MiB); the encoder asserts them in debug builds only, because it sits on the
// send path.
void encode_record(std::string& out, record_type type, std::uint8_t flags, std::uint64_t seq,
                   std::string_view key, std::string_view payload);

// Decodes the record at the start of bytes. Never reads outside bytes and never trusts a length
// before checking it against what is available and against outbox_max_record_size.
// `incomplete` means: every byte present is consistent with a record that continues beyond the
// end (a header that is cut short, or a plausible total_len larger than bytes.size()).
decode_status decode_record(std::string_view bytes, record_view& out) noexcept;

// The raw header fields at the start of bytes, unchecked beyond the magic (recovery reads them
// from records it cannot decode). False when fewer than 24 bytes are there or the magic differs.
struct record_header {
  std::uint32_t total_len;
  std::uint32_t crc;
  std::uint8_t type;
  std::uint8_t flags;
  std::uint16_t key_len;
  std::uint64_t seq;
};
bool read_record_header(std::string_view bytes, record_header& out) noexcept;

}  // namespace rws
