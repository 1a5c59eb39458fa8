#include "resume/json_text.hpp"

#include <locale>
#include <sstream>
#include <string>

namespace rws {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_plain_integer(std::string_view text) {
  std::size_t i = (!text.empty() && text[0] == '-') ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (!is_digit(text[i])) return false;
  }
  return true;
}

// Magnitude without sign and leading zeros; "0" for zero, so -0 == 0.
std::string_view integer_magnitude(std::string_view text, bool& negative) {
  negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  while (text.size() > 1 && text[0] == '0') text.remove_prefix(1);
  if (text == "0") negative = false;
  return text;
}

// A stream imbued with the classic locale, not strtod: it ignores the process locale (a ','
// decimal point would break 1.5). Not std::from_chars: the libc++ of the prebuilt binaries (zig
// 0.11, libc++ 16) has no floating-point overload. Only ack rules with non-integer numbers get here.
bool parse_double(std::string_view text, double& out) {
  std::istringstream in{std::string(text)};
  in.imbue(std::locale::classic());
  in >> std::noskipws >> out;
  return !in.fail() && in.peek() == std::char_traits<char>::eof();
}

}  // namespace

bool json_numbers_equal(std::string_view a, std::string_view b) {
  if (a == b) return true;
  if (is_plain_integer(a) && is_plain_integer(b)) {
    // Exact: ids and sequence numbers above 2^53 must not collide through doubles.
    bool a_negative = false;
    bool b_negative = false;
    const std::string_view a_magnitude = integer_magnitude(a, a_negative);
    const std::string_view b_magnitude = integer_magnitude(b, b_negative);
    return a_negative == b_negative && a_magnitude == b_magnitude;
  }
  double x = 0;
  double y = 0;
  return parse_double(a, x) && parse_double(b, y) && x == y;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char ch : text) {
    switch (ch) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20) {
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += ch;
    }
  }
}


std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_json_escaped(out, text);
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  append_json_escaped(out, text);
  out += '"';
  return out;
}

}  // namespace rws
