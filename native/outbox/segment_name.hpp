#pragma once
// Names of the files in an outbox directory (layout in outbox_log.hpp), shared by the log writer
// and its recovery.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace rws {

inline constexpr std::string_view segment_prefix = "seg-";
inline constexpr std::string_view segment_suffix = ".log";
inline constexpr std::size_t segment_name_size = segment_prefix.size() + 16 + segment_suffix.size();
inline constexpr std::string_view temp_suffix = ".tmp";

inline std::string segment_name(std::uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016" PRIx64 ".log", index);
  return name;
}

// `seg-` + exactly 16 lowercase hex digits + `.log`; anything else is not a segment.
inline bool parse_segment_name(std::string_view name, std::uint64_t& index) {
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

}  // namespace rws
