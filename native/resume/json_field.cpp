#include "resume/json_field.hpp"

#include "resume/json_text.hpp"

#include <array>
#include <cstring>
#include <string>

namespace rws {
namespace {

// Every read goes through `p != end` checks; nothing here ever dereferences `end`.
// Byte loops copy `p` into a local first: a char load may alias the cursor itself, so looping on
// the member would make the compiler reload and store it on every byte.
struct cursor {
  const char* p;
  const char* end;

  bool at_end() const { return p == end; }
  void skip_ws() {
    const char* q = p;
    while (q != end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
    p = q;
  }
  // Skips whitespace, then consumes `ch` if it is next.
  bool expect(char ch) {
    skip_ws();
    if (p == end || *p != ch) return false;
    ++p;
    return true;
  }
};

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at `at` (the caller guarantees 4 bytes are there).
bool parse_hex4(const char* at, std::uint32_t& out) {
  out = 0;
  for (int i = 0; i < 4; ++i) {
    const int v = hex_value(at[i]);
    if (v < 0) return false;
    out = (out << 4) | static_cast<std::uint32_t>(v);
  }
  return true;
}

std::size_t encode_utf8(std::uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes one escape; `c` is just past the backslash. Emits the decoded bytes to `sink`.
template <class Sink>
bool decode_escape(cursor& c, Sink& sink) {
  if (c.at_end()) return false;
  char simple = 0;
  switch (*c.p++) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default: return false;
  }
  if (simple != 0) {
    sink(&simple, 1);
    return true;
  }
  std::uint32_t cp = 0;
  if (c.end - c.p < 4 || !parse_hex4(c.p, cp)) return false;
  c.p += 4;
  constexpr std::uint32_t replacement = 0xFFFD;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate only means something with a low one right after it. Unpaired halves are
    // legal JSON but not encodable in UTF-8; JS would turn them into U+FFFD on the way out, so
    // ids compare the same on both sides.
    std::uint32_t low = 0;
    if (c.end - c.p >= 6 && c.p[0] == '\\' && c.p[1] == 'u' && parse_hex4(c.p + 2, low) &&
        low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      c.p += 6;
    } else {
      cp = replacement;
    }
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    cp = replacement;
  }
  char buffer[4];
  sink(buffer, encode_utf8(cp, buffer));
  return true;
}

constexpr std::array<bool, 256> make_plain_string_bytes() {
  std::array<bool, 256> plain{};
  for (int b = 0x20; b < 256; ++b) plain[static_cast<std::size_t>(b)] = b != '"' && b != '\\';
  return plain;
}
constexpr std::array<bool, 256> plain_string_bytes = make_plain_string_bytes();

bool string_byte_is_plain(unsigned char byte) { return plain_string_bytes[byte]; }

// Scans a string body; `c` is just past the opening quote and ends just past the closing one.
// Runs of plain bytes go to `sink` in one piece, so the common no-escape case is one call.
template <class Sink>
bool scan_string(cursor& c, Sink& sink) {
  const char* p = c.p;
  const char* const end = c.end;
  const char* run = p;
  for (;;) {
    // Plain bytes: neither a quote, a backslash nor a control character.
    while (p != end && string_byte_is_plain(static_cast<unsigned char>(*p))) ++p;
    if (p == end) return false;  // unterminated
    const char ch = *p;
    if (ch != '"' && ch != '\\') return false;  // raw control characters are not allowed
    sink(run, static_cast<std::size_t>(p - run));
    ++p;
    if (ch == '"') {
      c.p = p;
      return true;
    }
    c.p = p;
    if (!decode_escape(c, sink)) return false;
    p = c.p;
    run = p;
  }
}

struct discard_sink {
  void operator()(const char*, std::size_t) {}
};

struct append_sink {
  std::string& out;
  void operator()(const char* data, std::size_t n) { out.append(data, n); }
};

// Compares the decoded key with `target` while scanning, so keys are never copied.
struct key_matcher {
  std::string_view target;
  std::size_t matched = 0;
  bool equal = true;

  void operator()(const char* data, std::size_t n) {
    if (!equal || n == 0) return;
    if (n > target.size() - matched || std::memcmp(target.data() + matched, data, n) != 0) {
      equal = false;
      return;
    }
    matched += n;
  }
  bool result() const { return equal && matched == target.size(); }
};

// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool scan_number(cursor& c) {
  const char* p = c.p;
  const char* const end = c.end;
  auto digits = [&] {
    const char* start = p;
    while (p != end && is_digit(*p)) ++p;
    return p != start;
  };
  if (p != end && *p == '-') ++p;
  if (p == end) return false;
  if (*p == '0') {
    ++p;  // no leading zeros: "01" stops after the 0 and fails at the caller's delimiter check
  } else if (!digits()) {
    return false;
  }
  if (p != end && *p == '.') {
    ++p;
    if (!digits()) return false;
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end && (*p == '+' || *p == '-')) ++p;
    if (!digits()) return false;
  }
  c.p = p;
  return true;
}

bool scan_literal(cursor& c, std::string_view word) {
  if (static_cast<std::size_t>(c.end - c.p) < word.size() ||
      std::memcmp(c.p, word.data(), word.size()) != 0) {
    return false;
  }
  c.p += word.size();
  return true;
}

// Reads a scalar at `c` (whitespace already skipped). nullopt for objects, arrays and garbage.
std::optional<json_scalar> read_scalar(cursor& c) {
  if (c.at_end()) return std::nullopt;
  json_scalar out;
  const char first = *c.p;
  if (first == '"') {
    ++c.p;
    out.type = json_scalar::kind::string;
    append_sink sink{out.text};
    if (!scan_string(c, sink)) return std::nullopt;
  } else if (first == '-' || is_digit(first)) {
    const char* start = c.p;
    if (!scan_number(c)) return std::nullopt;
    out.type = json_scalar::kind::number;
    out.text.assign(start, c.p);
  } else if (scan_literal(c, "true")) {
    out = {json_scalar::kind::boolean, "true"};
  } else if (scan_literal(c, "false")) {
    out = {json_scalar::kind::boolean, "false"};
  } else if (scan_literal(c, "null")) {
    out = {json_scalar::kind::null, "null"};
  } else {
    return std::nullopt;
  }
  return out;
}

bool skip_scalar(cursor& c) {
  if (c.at_end()) return false;
  const char first = *c.p;
  if (first == '"') {
    ++c.p;
    discard_sink sink;
    return scan_string(c, sink);
  }
  if (first == '-' || is_digit(first)) return scan_number(c);
  return scan_literal(c, "true") || scan_literal(c, "false") || scan_literal(c, "null");
}

// Which container each open level is, one bit per level, so a mismatched "[}" is caught without
// recursion. The first 512 levels live inline (no allocation for any sane message); deeper
// input — only ever hostile — spills into a vector (16 MiB of '[' = 2 MiB of bits at most).
class nesting_stack {
 public:
  bool empty() const { return depth_ == 0; }

  void push(bool is_object) {
    const std::size_t word = depth_ / 64;
    const std::uint64_t bit = std::uint64_t{1} << (depth_ % 64);
    if (word >= inline_.size() && overflow_.size() <= word - inline_.size()) {
      overflow_.push_back(0);
    }
    std::uint64_t& bits = word_at(word);
    bits = is_object ? (bits | bit) : (bits & ~bit);
    ++depth_;
  }

  void pop() { --depth_; }

  bool top_is_object() {
    const std::size_t top = depth_ - 1;
    return (word_at(top / 64) >> (top % 64)) & 1;
  }

 private:
  std::uint64_t& word_at(std::size_t word) {
    return word < inline_.size() ? inline_[word] : overflow_[word - inline_.size()];
  }

  std::array<std::uint64_t, 8> inline_{};
  std::vector<std::uint64_t> overflow_;
  std::size_t depth_ = 0;
};

// After '{' or ',' inside an object: the next key and its colon.
bool skip_key_and_colon(cursor& c) {
  if (!c.expect('"')) return false;
  discard_sink sink;
  return scan_string(c, sink) && c.expect(':');
}

// Skips one complete, well-formed value of any kind, iteratively.
bool skip_value(cursor& c) {
  c.skip_ws();
  if (c.at_end()) return false;
  // Most skipped values are scalars: no need to set up the nesting stack for them.
  if (*c.p != '{' && *c.p != '[') return skip_scalar(c);
  nesting_stack stack;
  for (;;) {
    // Here a value starts.
    c.skip_ws();
    if (c.at_end()) return false;
    const char first = *c.p;
    if (first == '{' || first == '[') {
      const bool is_object = first == '{';
      ++c.p;
      c.skip_ws();
      if (c.at_end()) return false;
      if (*c.p == (is_object ? '}' : ']')) {
        ++c.p;  // empty container: a complete value
      } else {
        stack.push(is_object);
        if (is_object && !skip_key_and_colon(c)) return false;
        continue;  // its first element starts next
      }
    } else if (!skip_scalar(c)) {
      return false;
    }
    // Here a value ended: close finished containers, or move on to the next element.
    for (;;) {
      if (stack.empty()) return true;
      c.skip_ws();
      if (c.at_end()) return false;
      const char next = *c.p++;
      const bool in_object = stack.top_is_object();
      if (next == ',') {
        if (in_object && !skip_key_and_colon(c)) return false;
        break;
      }
      if (next != (in_object ? '}' : ']')) return false;
      stack.pop();
    }
  }
}

// Positions `c` just past the '{' of a top-level object.
bool open_top_level_object(cursor& c) { return c.expect('{'); }

// Scans the rest of an object whose '{' was just consumed, through its '}', and sets `found` to
// the scalar path[level..] names in it, read the way JavaScript sees JSON.parse's result: of
// duplicate keys the LAST one counts (so a later {"meta":{}} hides an earlier meta.seq), and a
// member that is an object or array where the path ends names nothing. False when the object is
// malformed. Recursion only follows the path (a few levels from the config), never the data.
bool find_in_object(cursor& c, const std::vector<std::string>& path, std::size_t level,
                    std::optional<json_scalar>& found) {
  found.reset();
  c.skip_ws();
  if (c.at_end()) return false;
  if (*c.p == '}') {
    ++c.p;
    return true;
  }
  for (;;) {
    // Here a member starts.
    if (!c.expect('"')) return false;
    key_matcher key{path[level]};
    if (!scan_string(c, key) || !c.expect(':')) return false;
    c.skip_ws();
    const bool container = !c.at_end() && (*c.p == '{' || *c.p == '[');
    if (!key.result()) {
      if (!skip_value(c)) return false;
    } else if (level + 1 == path.size() && !container) {
      found = read_scalar(c);
      if (!found) return false;  // not a value at all
    } else if (level + 1 < path.size() && !c.at_end() && *c.p == '{') {
      ++c.p;
      if (!find_in_object(c, path, level + 1, found)) return false;
    } else {
      found.reset();  // this (latest) member holds no scalar on the path
      if (!skip_value(c)) return false;
    }
    if (c.expect(',')) continue;
    if (c.expect('}')) return true;
    return false;
  }
}

}  // namespace

bool json_scalar_equal(const json_scalar& a, const json_scalar& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case json_scalar::kind::number: return json_numbers_equal(a.text, b.text);
    case json_scalar::kind::null: return true;
    case json_scalar::kind::string:
    case json_scalar::kind::boolean: return a.text == b.text;
  }
  return false;
}

std::optional<json_scalar> find_json_field(std::string_view json,
                                           const std::vector<std::string>& path) {
  if (path.empty()) return std::nullopt;
  cursor c{json.data(), json.data() + json.size()};
  if (!open_top_level_object(c)) return std::nullopt;
  std::optional<json_scalar> found;
  if (!find_in_object(c, path, 0, found)) return std::nullopt;
  c.skip_ws();
  if (!c.at_end()) return std::nullopt;  // JSON.parse refuses trailing bytes, so do we
  return found;
}

std::vector<std::string> split_dotted_path(std::string_view dotted) {
  std::vector<std::string> parts;
  for (;;) {
    const std::size_t dot = dotted.find('.');
    parts.emplace_back(dotted.substr(0, dot));
    if (dot == std::string_view::npos) return parts;
    dotted.remove_prefix(dot + 1);
  }
}

bool json_matches(std::string_view json, const std::vector<json_match_rule>& rules) {
  for (const json_match_rule& rule : rules) {
    const std::optional<json_scalar> value = find_json_field(json, rule.path);
    if (!value || !json_scalar_equal(*value, rule.expected)) return false;
  }
  return true;
}

std::optional<std::string> insert_json_string_field(std::string_view json_object,
                                                    std::string_view field,
                                                    std::string_view value) {
  cursor c{json_object.data(), json_object.data() + json_object.size()};
  if (!open_top_level_object(c)) return std::nullopt;
  const std::size_t after_brace = static_cast<std::size_t>(c.p - json_object.data());
  c.skip_ws();
  const bool empty = !c.at_end() && *c.p == '}';
  if (empty) {
    ++c.p;
  } else {
    // The whole object is validated, not just scanned for the key: a message that is not one
    // well-formed object must go out byte for byte as the user wrote it.
    for (;;) {
      if (!c.expect('"')) return std::nullopt;
      key_matcher key{field};
      if (!scan_string(c, key) || !c.expect(':')) return std::nullopt;
      if (key.result()) return std::nullopt;  // the user's own key wins
      if (!skip_value(c)) return std::nullopt;
      if (c.expect(',')) continue;
      if (c.expect('}')) break;
      return std::nullopt;
    }
  }
  c.skip_ws();
  if (!c.at_end()) return std::nullopt;  // trailing bytes: not a single JSON object

  std::string out;
  out.reserve(json_object.size() + field.size() + value.size() + 8);  // exact unless escaped
  out.append(json_object.substr(0, after_brace));
  out += '"';
  append_json_escaped(out, field);
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
  if (!empty) out += ',';
  out.append(json_object.substr(after_brace));
  return out;
}

}  // namespace rws
