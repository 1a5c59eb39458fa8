#pragma once
// JSON values as text, without parsing a document: whether two number literals mean the same
// number (exactly, for integers beyond 2^53), and escaping text into a string literal.
#include <string>
#include <string_view>

namespace rws {

// Whether two JSON number literals are equal: integers compared exactly (ids and sequence
// numbers above 2^53 must not collide through doubles), others as doubles.
bool json_numbers_equal(std::string_view a, std::string_view b);

// Appends the body of a JSON string literal for `text` to `out`, in place, so building a keyed
// message costs one allocation, not one per piece.
void append_json_escaped(std::string& out, std::string_view text);

// The body of a JSON string literal for `text`, without the surrounding quotes: escapes '"',
// '\\' and control characters; other bytes (UTF-8) pass through unchanged.
std::string json_escape(std::string_view text);

// A complete JSON string literal: '"' + json_escape(text) + '"'.
std::string json_quote(std::string_view text);

}  // namespace rws
