// Fuzzes rws::find_json_field, json_matches and insert_json_string_field (resume/json_field.hpp)
// differential against Boost.JSON, which parses like JSON.parse for what matters here: the
// whole text must be one valid JSON value (else nothing is found), and of duplicate keys the
// LAST one counts. Input: "<dotted path>\n<json text>"; without a newline the path is "id".
// Inputs JSON.parse never sees or that Boost.JSON parses differently from it are skipped: text
// that is not valid UTF-8 (the frame parser already refused it) and lone UTF-16 surrogate
// escapes (JSON.parse keeps them, Boost.JSON refuses them) and exponents beyond Boost.JSON's
// range; scripts/json-differential.js checks those against the real JSON.parse.
// Boost.JSON compiled into this harness (header-only mode): no libboost_json to link.
#include <boost/json/src.hpp>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "protocol/utf8.hpp"
#include "resume/json_field.hpp"

namespace json = boost::json;

namespace {

bool has_surrogate_escape(std::string_view s) {
  for (std::size_t i = 0; i + 3 < s.size(); ++i) {
    if (s[i] == '\\' && s[i + 1] == 'u' && (s[i + 2] == 'd' || s[i + 2] == 'D') &&
        std::string_view("89abcdefABCDEF").find(s[i + 3]) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// What `path` names in `v` the way JavaScript would read it after JSON.parse, as a scalar.
std::optional<rws::json_scalar> reference_lookup(const json::value& root, const std::vector<std::string>& path) {
  const json::value* v = &root;
  for (const std::string& key : path) {
    if (!v->is_object()) return std::nullopt;
    const json::object& o = v->get_object();
    const auto it = o.find(key);
    if (it == o.end()) return std::nullopt;
    v = &it->value();
  }
  rws::json_scalar s;
  switch (v->kind()) {
    case json::kind::string: s.type = rws::json_scalar::kind::string, s.text = std::string(v->get_string()); break;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: s.type = rws::json_scalar::kind::number; break;
    case json::kind::bool_: s.type = rws::json_scalar::kind::boolean, s.text = v->get_bool() ? "true" : "false"; break;
    case json::kind::null: s.type = rws::json_scalar::kind::null, s.text = "null"; break;
    default: return std::nullopt;
  }
  return s;
}

double reference_number(const json::value& root, const std::vector<std::string>& path) {
  const json::value* v = &root;
  for (const std::string& key : path) v = &v->get_object().find(key)->value();
  return v->to_number<double>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> path{"id"};
  if (const std::size_t nl = input.find('\n'); nl != std::string_view::npos && nl <= 64) {
    path = rws::split_dotted_path(input.substr(0, nl));
    input.remove_prefix(nl + 1);
  }
  if (!rws::is_valid_utf8(input) || has_surrogate_escape(input)) return 0;
  for (const auto& key : path) {
    if (!rws::is_valid_utf8(key)) return 0;
  }

  json::parse_options options;
  options.max_depth = 1u << 20;
  json::error_code ec;
  const json::value root = json::parse(input, ec, {}, options);
  // Boost.JSON refuses exponents beyond its range (JSON.parse: Infinity or 0): no reference.
  if (ec == json::error::exponent_overflow) return 0;

  const std::optional<rws::json_scalar> expected = ec ? std::nullopt : reference_lookup(root, path);
  const std::optional<rws::json_scalar> found = rws::find_json_field(input, path);
  FUZZ_CHECK(found.has_value() == expected.has_value(), "find_json_field finds a value iff JSON.parse would");
  if (found) {
    FUZZ_CHECK(found->type == expected->type, "find_json_field returned another kind of value");
    if (found->type == rws::json_scalar::kind::number) {
      double value = 0;
      const auto r = std::from_chars(found->text.data(), found->text.data() + found->text.size(), value);
      const double reference = reference_number(root, path);
      // Boost.JSON 1.81 reads 0e400 as NaN (JSON.parse: 0; a JSON number is never NaN) and is
      // not correctly rounded (-0.5e+30 -> -4.9999999999999994e29), so the value is compared
      // with a tolerance here; scripts/json-differential.js compares exactly with JSON.parse.
      if (r.ec == std::errc{} && reference == reference) {
        FUZZ_CHECK(value == reference || std::fabs(value - reference) <= 1e-12 * std::fabs(reference),
                   "find_json_field returned another number");
      }
    } else {
      FUZZ_CHECK(found->text == expected->text, "find_json_field returned another string");
    }
    FUZZ_CHECK(rws::json_matches(input, {{path, *found}}), "json_matches disagrees with find_json_field");
  } else {
    FUZZ_CHECK(!rws::json_matches(input, {{path, rws::json_scalar{}}}), "json_matches matched a missing field");
  }

  // outbox.keyField: inserted iff the text is one JSON object without that key; the result is
  // that object with the key added.
  const std::string field = path.front();
  const bool insertable = !ec && root.is_object() && !root.get_object().contains(field);
  const std::optional<std::string> keyed = rws::insert_json_string_field(input, field, "k-1");
  FUZZ_CHECK(keyed.has_value() == insertable, "insert_json_string_field inserted iff JSON.parse sees an object without the key");
  if (keyed) {
    json::error_code keyed_ec;
    const json::value v = json::parse(*keyed, keyed_ec, {}, options);
    FUZZ_CHECK(!keyed_ec && v.is_object(), "insert_json_string_field produced invalid JSON");
    const auto it = v.get_object().find(field);
    FUZZ_CHECK(it != v.get_object().end() && it->value().is_string() && it->value().get_string() == "k-1",
               "insert_json_string_field's key is not in the result");
    FUZZ_CHECK(v.get_object().size() == root.get_object().size() + 1, "insert_json_string_field changed other members");
  }
  return 0;
}
