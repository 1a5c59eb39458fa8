#include "outbox/outbox_record.hpp"

#include <cassert>
#include <cstring>

#include "outbox/crc32c.hpp"

namespace rws {
namespace {

// Explicit byte order, so a log written on one machine reads on any other.
inline void put_u16(char* p, std::uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline std::uint16_t get_u16(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
}
inline std::uint32_t get_u32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{b[0]} | (std::uint32_t{b[1]} << 8) | (std::uint32_t{b[2]} << 16) |
         (std::uint32_t{b[3]} << 24);
}
inline std::uint64_t get_u64(const char* p) {
  return std::uint64_t{get_u32(p)} | (std::uint64_t{get_u32(p + 4)} << 32);
}

// Which flag bits each type may carry; anything else is damage (or a future format this build
// cannot read, which must not be mistaken for data either).
bool header_fields_valid(std::uint8_t type, std::uint8_t flags) {
  switch (static_cast<record_type>(type)) {
    case record_type::data: return (flags & ~record_flag_binary) == 0;
    case record_type::delivered: return (flags & ~record_flag_dropped) == 0;
    case record_type::segment_start: return flags == 0;
  }
  return false;
}

}  // namespace

void encode_record(std::string& out, record_type type, std::uint8_t flags, std::uint64_t seq,
                   std::string_view key, std::string_view payload) {
  assert(key.size() <= outbox_max_key_size && payload.size() <= outbox_max_payload_size);
  const std::size_t total = encoded_record_size(key.size(), payload.size());
  const std::size_t start = out.size();
  // resize_and_overwrite would skip the zero-fill, but plain resize keeps this portable C++20.
  out.resize(start + total);
  char* p = out.data() + start;
  put_u32(p, outbox_record_magic);
  put_u32(p + 4, static_cast<std::uint32_t>(total));
  p[12] = static_cast<char>(type);
  p[13] = static_cast<char>(flags);
  put_u16(p + 14, static_cast<std::uint16_t>(key.size()));
  put_u64(p + 16, seq);
  if (!key.empty()) std::memcpy(p + 24, key.data(), key.size());
  if (!payload.empty()) std::memcpy(p + 24 + key.size(), payload.data(), payload.size());
  put_u32(p + 8, crc32c(p + 12, total - 12));
}

decode_status decode_record(std::string_view bytes, record_view& out) noexcept {
  const char* p = bytes.data();
  const std::size_t avail = bytes.size();
  if (avail == 0) return decode_status::incomplete;

  // A header cut short is a torn tail only if the bytes that are there could begin a record;
  // otherwise (zero fill, garbage) it is corruption. Checked field by field as far as they go.
  char magic[4];
  put_u32(magic, outbox_record_magic);
  if (std::memcmp(p, magic, avail < 4 ? avail : 4) != 0) return decode_status::corrupt;
  if (avail < 8) return decode_status::incomplete;

  const std::uint32_t total = get_u32(p + 4);
  if (total < outbox_record_header_size || total > outbox_max_record_size) {
    return decode_status::corrupt;
  }
  if (avail >= 14 && !header_fields_valid(static_cast<std::uint8_t>(p[12]),
                                          static_cast<std::uint8_t>(p[13]))) {
    return decode_status::corrupt;
  }
  if (avail >= 16) {
    const std::uint16_t key_len = get_u16(p + 14);
    if (key_len > total - outbox_record_header_size) return decode_status::corrupt;
    const auto type = static_cast<record_type>(p[12]);
    // Marks and segment-starts are exactly one header long.
    if (type != record_type::data && total != outbox_record_header_size) {
      return decode_status::corrupt;
    }
  }
  if (avail < total) return decode_status::incomplete;

  if (crc32c(p + 12, total - 12) != get_u32(p + 8)) return decode_status::corrupt;

  const std::uint16_t key_len = get_u16(p + 14);
  out.type = static_cast<record_type>(p[12]);
  out.flags = static_cast<std::uint8_t>(p[13]);
  out.seq = get_u64(p + 16);
  out.key = std::string_view(p + outbox_record_header_size, key_len);
  out.payload = std::string_view(p + outbox_record_header_size + key_len,
                                 total - outbox_record_header_size - key_len);
  out.size = total;
  return decode_status::ok;
}

bool read_record_header(std::string_view bytes, record_header& out) noexcept {
  if (bytes.size() < outbox_record_header_size) return false;
  const char* p = bytes.data();
  if (get_u32(p) != outbox_record_magic) return false;
  out.total_len = get_u32(p + 4);
  out.crc = get_u32(p + 8);
  out.type = static_cast<std::uint8_t>(p[12]);
  out.flags = static_cast<std::uint8_t>(p[13]);
  out.key_len = get_u16(p + 14);
  out.seq = get_u64(p + 16);
  return true;
}

}  // namespace rws
