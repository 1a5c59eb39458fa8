#pragma once
// Incremental UTF-8 validation for text messages (RFC 6455 §8.1: invalid UTF-8 in a text message
// fails the connection with 1007). Incremental because a message arrives in fragments and reads
// that can split a code point anywhere; a bad byte must be reported as soon as it is seen, not
// after the whole (possibly huge) message has been buffered.
//
// Strict RFC 3629: overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and anything above
// U+10FFFF are rejected, at the first byte that makes the sequence impossible.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rws {

class utf8_validator {
 public:
  // Validates the next n bytes of the stream. Returns false as soon as the bytes seen so far
  // cannot be the prefix of valid UTF-8; once false, it stays false until reset().
  bool feed(const char* p, std::size_t n);

  // True when the bytes fed so far end on a code point boundary (and none was invalid). A message
  // is valid iff every feed() returned true and complete() holds after the last fragment.
  bool complete() const { return state_ == accept_state; }

  // True once an invalid byte was seen.
  bool failed() const { return state_ == reject_state; }

  void reset() { state_ = accept_state; }

  // DFA states (Hoehrmann's numbering, multiples of 12 so a state indexes its table row).
  static constexpr std::uint8_t accept_state = 0;
  static constexpr std::uint8_t reject_state = 12;

 private:
  std::uint8_t state_ = accept_state;
};

// Whole-buffer check (close reasons, single-frame text messages).
bool is_valid_utf8(std::string_view s);

// UTF-16 code units of valid UTF-8 text (what JavaScript's String length and slice() count): one
// per code point, two for those above U+FFFF. Also reports whether the text is plain ASCII.
std::uint32_t utf16_length(std::string_view utf8, bool& ascii);

}  // namespace rws
