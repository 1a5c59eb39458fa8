// Fuzzes rws::utf8_validator and rws::is_valid_utf8 (protocol/utf8.hpp), differential against a
// plain RFC 3629 decoder written here for clarity, not speed. Input layout:
//   byte 0      number of split points k (0..15), then k bytes of split points
//   rest        the text bytes
// Invariants: is_valid_utf8 == reference; feeding in pieces gives the same verdict; the
// streaming validator fails at exactly the first byte where the reference sees that no valid
// continuation is possible (a feed() returns false iff its piece contains that byte).
#include <algorithm>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "protocol/utf8.hpp"

namespace {

// Index of the first byte at which `s` stops being a prefix of valid UTF-8, or s.size() if every
// prefix is fine. `complete` tells whether s ends on a code point boundary.
std::size_t reference_first_bad(std::string_view s, bool& complete) {
  std::size_t i = 0;
  complete = true;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return i;  // 80..C1 (continuation or overlong 2-byte lead), F5..FF
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k == s.size()) {
        complete = false;
        return s.size();
      }
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i + k;
      cp = (cp << 6) | (b & 0x3F);
      // Reject at the first byte that makes the sequence impossible: after the second byte the
      // range is known (overlong, surrogate, above U+10FFFF).
      if (k == 1) {
        const std::uint32_t lo = cp << (6 * (len - 2));
        const std::uint32_t hi = lo | ((1u << (6 * (len - 2))) - 1);
        if (hi < min) return i + k;                              // overlong
        if (len == 3 && lo >= 0xD800 && lo <= 0xDFFF) return i + k;  // surrogate
        if (lo > 0x10FFFF) return i + k;                         // beyond Unicode
      }
    }
    i += len;
  }
  return s.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rws::fuzz::input_reader in(data, size);
  const std::size_t split_count = in.u8() % 16;
  std::vector<std::uint8_t> split_bytes;
  for (std::size_t i = 0; i < split_count; ++i) split_bytes.push_back(in.u8());
  const std::string_view text = in.rest();

  bool ref_complete = false;
  const std::size_t first_bad = reference_first_bad(text, ref_complete);
  const bool ref_valid = first_bad == text.size() && ref_complete;
  FUZZ_CHECK(rws::is_valid_utf8(text) == ref_valid, "is_valid_utf8 disagrees with the RFC 3629 reference");

  std::vector<std::size_t> splits;
  for (const std::uint8_t b : split_bytes) splits.push_back(b % (text.size() + 1));
  splits.push_back(text.size());
  std::sort(splits.begin(), splits.end());
  rws::utf8_validator v;
  std::size_t at = 0;
  bool failed = false;
  for (const std::size_t next : splits) {
    const bool ok = v.feed(text.data() + at, next - at);
    if (failed) {
      FUZZ_CHECK(!ok, "the validator recovered after failing");
    } else {
      // This piece holds the first bad byte iff at <= first_bad < next.
      const bool piece_has_bad = first_bad < text.size() && first_bad >= at && first_bad < next;
      FUZZ_CHECK(ok == !piece_has_bad, "the streaming validator failed at a different byte than the reference");
      failed = !ok;
    }
    at = next;
  }
  FUZZ_CHECK(v.failed() == (first_bad < text.size()), "failed() disagrees with the reference");
  FUZZ_CHECK(v.complete() == ref_valid, "complete() disagrees with the reference");
  return 0;
}
