#pragma once
// Reading one field out of JSON text without building a DOM. It runs on every inbound text message, so each call is a single
// forward scan that skips what it does not need and allocates only for the value it returns.
//
// The answer is the one JavaScript gets from JSON.parse(text) (what the app sees): the whole
// text must be valid JSON (else nothing is found) and of duplicate keys the last one counts. So
// the scan always reads to the end of the text; it cannot stop at the first match.
// (native/fuzz/fuzz_json_field.cpp and scripts/json-differential.js check this.)
//
// Robustness, because the text comes from the network: never reads past the end of the view,
// never recurses into the data (nesting depth is tracked in a bit stack, so 100k '[' cost
// ~12 KiB, not the C++ stack), and anything malformed yields "not found".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resume/json_text.hpp"  // json_escape, json_quote: part of this header's contract

namespace rws {

struct json_scalar {
  enum class kind : std::uint8_t { string, number, boolean, null };
  kind type = kind::null;
  // string: unescaped UTF-8 (\uXXXX decoded, surrogate pairs joined; a lone surrogate becomes
  //         U+FFFD, as Buffer.from(str) would encode it);
  // number: the literal exactly as written ("-1.5e3");
  // boolean: "true" / "false";  null: "null".
  std::string text;

  bool operator==(const json_scalar&) const = default;
};

// Semantic equality used by ack matching: same kind; numbers by numeric value (1 == 1.0 == 1e0,
// 0 == -0; integer literals of any length compare exactly), booleans and strings by text, null
// always equals null.
bool json_scalar_equal(const json_scalar& a, const json_scalar& b);

// The scalar at `path` (e.g. {"meta","seq"}) of the JSON object `json`, as JSON.parse would give
// it. nullopt when the text is not exactly one valid JSON object (surrounding whitespace
// allowed), a key on the path is missing, or the value is an object or array. With duplicate
// keys the last one wins, at every level of the path. An empty path finds nothing.
std::optional<json_scalar> find_json_field(std::string_view json,
                                           const std::vector<std::string>& path);

// "meta.seq" -> {"meta","seq"}. No escaping: a key that itself contains '.' can only be reached
// by building the path vector directly. "" -> {""}, "a..b" -> {"a","","b"}.
std::vector<std::string> split_dotted_path(std::string_view dotted);

// One (path, expected value) pair of `ack.match`, e.g. {{"type"}, string "ack"}.
struct json_match_rule {
  std::vector<std::string> path;
  json_scalar expected;

  bool operator==(const json_match_rule&) const = default;
};

// True when every rule's path holds a scalar json_scalar_equal to its expected value. One scan
// per rule (rules are few: the default is a single {type:'ack'}). No rules: true.
bool json_matches(std::string_view json, const std::vector<json_match_rule>& rules);

// outbox.keyField: a copy of the top-level JSON object with "field":"value" inserted as its first
// member, leaving every other byte as written. nullopt — the caller then sends the message
// unchanged — when the text is not exactly one well-formed JSON object (surrounding whitespace
// allowed) or when the object already has `field` (the user's value wins).
std::optional<std::string> insert_json_string_field(std::string_view json_object,
                                                    std::string_view field,
                                                    std::string_view value);

}  // namespace rws
