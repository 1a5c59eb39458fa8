#include "protocol/utf8.hpp"

#include <cstring>

namespace rws {
namespace {

// Bjoern Hoehrmann's UTF-8 DFA (http://bjoern.hoehrmann.de/utf-8/decoder/dfa/, MIT licence).
// The first 256 entries map a byte to a character class; the rest map (state + class) to the
// next state. Classes are chosen so that overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
// (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF) land in the reject state at the
// first offending byte.
constexpr std::uint8_t utf8_dfa[] = {
    // byte -> class
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 00..1f
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 20..3f
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 40..5f
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 60..7f
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,  // 80..9f
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  // a0..bf
    8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  // c0..df
    10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, 11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,  // e0..ff
    // state + class -> state
    0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72,  // 0: accept
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  // 12: reject (absorbing)
    12, 0, 12, 12, 12, 12, 12, 0, 12, 0, 12, 12,     // 24: one continuation byte left
    12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12,  // 36: two left
    12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,  // 48: after E0 (A0..BF only)
    12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12,  // 60: after ED (80..9F only)
    12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,  // 72: after F0 (90..BF only)
    12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,  // 84: after F1..F3
    12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  // 96: after F4 (80..8F only)
};
static_assert(sizeof(utf8_dfa) == 256 + 9 * 12);

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

}  // namespace

bool utf8_validator::feed(const char* p, std::size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  const auto* end = s + n;
  std::uint32_t state = state_;
  if (state == reject_state) return false;
  while (s < end) {
    // Text is mostly ASCII: between code points, skip 8 plain bytes per step instead of running
    // the table on each one.
    if (state == accept_state) {
      while (end - s >= 8) {
        std::uint64_t word;
        std::memcpy(&word, s, 8);
        if (word & high_bits) break;
        s += 8;
      }
      while (s < end && *s < 0x80) ++s;
      if (s == end) break;
    }
    state = utf8_dfa[256 + state + utf8_dfa[*s]];
    ++s;
    if (state == reject_state) break;
  }
  state_ = static_cast<std::uint8_t>(state);
  return state != reject_state;
}

bool is_valid_utf8(std::string_view s) {
  utf8_validator v;
  return v.feed(s.data(), s.size()) && v.complete();
}

std::uint32_t utf16_length(std::string_view utf8, bool& ascii) {
  // Two independent counts over the bytes, so the compiler vectorizes the loop.
  std::size_t leads = 0;      // bytes that start a code point (not 10xxxxxx)
  std::size_t four_byte = 0;  // leads of 4-byte sequences: a surrogate pair in UTF-16
  unsigned char any_high = 0;
  for (const char c : utf8) {
    const auto b = static_cast<unsigned char>(c);
    leads += (b & 0xC0) != 0x80;
    four_byte += b >= 0xF0;
    any_high |= b;
  }
  ascii = (any_high & 0x80) == 0;
  return static_cast<std::uint32_t>(leads + four_byte);
}

}  // namespace rws
