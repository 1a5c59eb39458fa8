#include "resume/json_field.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rws {
namespace {

using kind = json_scalar::kind;

// Finds `dotted` in `json` and checks kind and text; reports the input on failure.
void expect_field(std::string_view json, std::string_view dotted, kind type,
                  std::string_view text) {
  const std::optional<json_scalar> value = find_json_field(json, split_dotted_path(dotted));
  ASSERT_TRUE(value.has_value()) << json << " / " << dotted;
  EXPECT_EQ(value->type, type) << json << " / " << dotted;
  EXPECT_EQ(value->text, text) << json << " / " << dotted;
}

void expect_missing(std::string_view json, std::string_view dotted) {
  EXPECT_FALSE(find_json_field(json, split_dotted_path(dotted)).has_value())
      << json << " / " << dotted;
}

// Copies the text into an exactly sized heap block, so ASan flags any read past the end
// (a std::string literal would hide it behind its terminating NUL).
std::optional<json_scalar> find_exact(std::string_view json, std::vector<std::string> path) {
  auto buffer = std::make_unique<char[]>(json.size() == 0 ? 1 : json.size());
  std::copy(json.begin(), json.end(), buffer.get());
  return find_json_field(std::string_view(buffer.get(), json.size()), path);
}

TEST(JsonField, TopLevelScalars) {
  const std::string_view json =
      R"({"id":"abc","n":42,"t":true,"f":false,"z":null,"e":""})";
  expect_field(json, "id", kind::string, "abc");
  expect_field(json, "n", kind::number, "42");
  expect_field(json, "t", kind::boolean, "true");
  expect_field(json, "f", kind::boolean, "false");
  expect_field(json, "z", kind::null, "null");
  expect_field(json, "e", kind::string, "");
  expect_missing(json, "nope");
  expect_missing(json, "i");   // prefix of a key
  expect_missing(json, "idx"); // key is a prefix of the name
}

TEST(JsonField, WhitespaceEverywhere) {
  expect_field(" \t\r\n{ \"a\" :\n 1 , \"b\" : \"x\" \n} ", "b", kind::string, "x");
  expect_field("{\"a\" : 1 }", "a", kind::number, "1");
}

TEST(JsonField, DottedPaths) {
  const std::string_view json =
      R"({"meta":{"seq":7,"inner":{"id":"deep"}},"seq":1,"x":{"meta":{"seq":99}}})";
  expect_field(json, "meta.seq", kind::number, "7");
  expect_field(json, "meta.inner.id", kind::string, "deep");
  expect_field(json, "seq", kind::number, "1");
  expect_field(json, "x.meta.seq", kind::number, "99");
  expect_missing(json, "meta.nope");
  expect_missing(json, "seq.x");        // path through a number
  expect_missing(json, "meta.inner");   // an object is not a scalar
  expect_missing(json, "meta.inner.id.more");
  expect_missing(R"({"meta":{}})", "meta.seq");
  expect_missing(R"({"meta":[{"seq":1}]})", "meta.seq");  // arrays are not traversed
}

TEST(JsonField, Numbers) {
  expect_field(R"({"n":-12})", "n", kind::number, "-12");
  expect_field(R"({"n":0})", "n", kind::number, "0");
  expect_field(R"({"n":-0.5e+10})", "n", kind::number, "-0.5e+10");
  expect_field(R"({"n":1E-3,"m":2})", "n", kind::number, "1E-3");
  expect_field(R"({"n":3.25})", "n", kind::number, "3.25");
  expect_field(R"({"n":12345678901234567890123})", "n", kind::number,
               "12345678901234567890123");
  for (std::string_view bad : {R"({"n":01})", R"({"n":-})", R"({"n":1.})", R"({"n":.5})",
                               R"({"n":1e})", R"({"n":1e+})", R"({"n":+1})", R"({"n":1.5.2})",
                               R"({"n":0x10})", R"({"n":NaN})", R"({"n":-Infinity})"}) {
    expect_missing(bad, "n");
  }
}

TEST(JsonField, StringEscapes) {
  expect_field(R"({"s":"a\"b\\c\/d"})", "s", kind::string, "a\"b\\c/d");
  expect_field(R"({"s":"\b\f\n\r\t"})", "s", kind::string, "\b\f\n\r\t");
  expect_field(R"({"s":"\u0041\u00e9\u20AC"})", "s", kind::string, "A\xC3\xA9\xE2\x82\xAC");
  expect_field(R"({"s":"\ud83d\ude00!"})", "s", kind::string, "\xF0\x9F\x98\x80!");  // 😀
  expect_field(R"({"s":"\u0000x"})", "s", kind::string, std::string_view("\0x", 2));
  expect_field("{\"s\":\"h\xC3\xA9llo\"}", "s", kind::string, "h\xC3\xA9llo");  // raw UTF-8
  // Unpaired surrogates become U+FFFD (EF BF BD).
  expect_field(R"({"s":"\ud800"})", "s", kind::string, "\xEF\xBF\xBD");
  expect_field(R"({"s":"\udc00x"})", "s", kind::string, "\xEF\xBF\xBDx");
  expect_field(R"({"s":"\ud800\u0041"})", "s", kind::string, "\xEF\xBF\xBD" "A");
  expect_field(R"({"s":"\ud800\ud800\udc00"})", "s", kind::string,
               "\xEF\xBF\xBD\xF0\x90\x80\x80");
  for (std::string_view bad : {R"({"s":"\x"})", R"({"s":"\u12"})", R"({"s":"\u12G4"})",
                               R"({"s":"\ud800\u12"})", "{\"s\":\"a\nb\"}",
                               "{\"s\":\"tab\there\"}"}) {
    expect_missing(bad, "s");
  }
}

TEST(JsonField, EscapedKeys) {
  expect_field(R"({"\u0069d":5})", "id", kind::number, "5");
  expect_field(R"({"a\"b":1})", "a\"b", kind::number, "1");
  expect_field(R"({"caf\u00e9":"x"})", "caf\xC3\xA9", kind::string, "x");
  expect_field(R"({"m\u0065ta":{"s\u0065q":3}})", "meta.seq", kind::number, "3");
  expect_missing(R"({"i\u0064x":5})", "id");
}

TEST(JsonField, KeyNamesInsideStringValuesDoNotMatch) {
  const std::string_view json =
      R"({"text":"{\"id\":\"fake\",\"x\":1}","note":"\"id\":2,","id":"real"})";
  expect_field(json, "id", kind::string, "real");
  expect_missing(R"({"text":"\"id\":1"})", "id");
  expect_missing(R"({"text":"id"})", "id");  // a value equal to the key is not the key
}

TEST(JsonField, NestedValuesAreSkipped) {
  const std::string_view json =
      R"({"a":{"id":"nested","b":[1,{"id":2},[[]],{}]},"c":[],"d":{},"id":"top"})";
  expect_field(json, "id", kind::string, "top");
  expect_field(R"({"arr":[{"id":1},"id",{"id":[]}],"id":3})", "id", kind::number, "3");
  expect_field(R"({"a":[1,2,3] , "b":[ ] , "id" : -1 })", "id", kind::number, "-1");
  expect_field(R"({"a":{"b":{"c":{"d":{}}}},"id":true})", "id", kind::boolean, "true");
}

TEST(JsonField, ValueIsObjectOrArray) {
  expect_missing(R"({"id":{"x":1}})", "id");
  expect_missing(R"({"id":[1]})", "id");
  expect_missing(R"({"id":[]})", "id");
}

TEST(JsonField, NotAnObject) {
  for (std::string_view json : {"", " ", "[]", R"(["id",1])", R"("id")", "42", "null", "true",
                                "id:1", "\xEF\xBB\xBF{\"id\":1}"}) {
    expect_missing(json, "id");
  }
  EXPECT_FALSE(find_json_field(R"({"id":1})", {}).has_value());  // empty path
}

TEST(JsonField, EmptyObject) {
  expect_missing("{}", "id");
  expect_missing(" { } ", "id");
}

// Pins JSON.parse semantics (the id the app sees is the one dedupe and resume use): the last
// duplicate wins, at every level of the path. Found by native/fuzz/fuzz_json_field.cpp.
TEST(JsonField, LastDuplicateWinsLikeJsonParse) {
  expect_field(R"({"id":1,"id":2})", "id", kind::number, "2");
  expect_field(R"({"id":{"x":1},"id":"s"})", "id", kind::string, "s");
  expect_missing(R"({"id":1,"id":[1]})", "id");
  EXPECT_FALSE(find_json_field(R"({"meta":{"seq":1},"meta":{"x":2}})", {"meta", "seq"}).has_value());
  EXPECT_TRUE(find_json_field(R"({"meta":{"x":1},"meta":{"seq":2}})", {"meta", "seq"}).has_value());
  EXPECT_FALSE(find_json_field(R"({"meta":{"seq":1},"meta":3})", {"meta", "seq"}).has_value());
}

// Pins JSON.parse semantics: text that JSON.parse refuses has no id, even when the bytes after
// the value are the broken part. Found by native/fuzz/fuzz_json_field.cpp.
TEST(JsonField, MalformedAfterTheValueFindsNothing) {
  for (std::string_view bad : {R"({"id":1} x)", R"({"id":1,})", R"({"id":2,[[],[5]]})", R"({"id":2,"x":)",
                               R"({"id":1}})", R"({"id":1,"a":01})", R"({"meta":{"seq":1},}})"}) {
    expect_missing(bad, "id");
    EXPECT_FALSE(find_json_field(bad, {"meta", "seq"}).has_value()) << bad;
  }
}

TEST(JsonField, MalformedBeforeTheValue) {
  for (std::string_view bad :
       {R"({"a":1,,"id":1})", R"({"a":1 "id":1})", R"({"a" 1,"id":1})", R"({a:1,"id":1})",
        R"({"a":[1,2,"id":1})", R"({"a":[1}],"id":1})", R"({"a":{"b":1],"id":1})",
        R"({"a":{"b"},"id":1})", R"({"a":{"b":},"id":1})", R"({"a":[1,],"id":1})",
        R"({"a":{,},"id":1})", R"({"a":tru,"id":1})", R"({"a":nul,"id":1})", R"({"a":"x,"id":1})",
        R"({,"id":1})", R"({"a":1}"id":1})", R"({'id':1})"}) {
    expect_missing(bad, "id");
  }
}

TEST(JsonField, TruncatedInputNeverReadsPastTheEnd) {
  const std::string json = R"({"a":[1,{"b":"x\"y"}],"meta":{"seq":-12.5e3,"id":"\u00e9z"},"t":true})";
  // Every strict prefix is malformed JSON: a clean nullopt, never a read past the end.
  for (std::size_t n = 0; n <= json.size(); ++n) {
    const std::string_view prefix(json.data(), n);
    const bool whole = n == json.size();
    EXPECT_EQ(find_exact(prefix, {"meta", "seq"}).has_value(), whole) << prefix;
    EXPECT_EQ(find_exact(prefix, {"meta", "id"}).has_value(), whole) << prefix;
    EXPECT_EQ(find_exact(prefix, {"t"}).has_value(), whole) << prefix;
  }
  // A number cut short is not returned as a shorter number.
  EXPECT_FALSE(find_exact(R"({"id":123)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"id":"12)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"id":tr)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"id":"\)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"id":"\u00)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"id":"\ud83d\ude)", {"id"}).has_value());
  EXPECT_FALSE(find_exact(R"({"a":[[[)", {"id"}).has_value());
}

TEST(JsonField, DeepNestingIsIterative) {
  constexpr std::size_t depth = 100'000;
  // Skipped: 100k levels of arrays, then 100k alternating objects/arrays, then the key.
  std::string json = R"({"junk":)";
  json += std::string(depth, '[');
  json += std::string(depth, ']');
  json += R"(,"mixed":)";
  for (std::size_t i = 0; i < depth; ++i) json += (i % 2 == 0) ? R"({"k":)" : "[";
  json += "0";
  for (std::size_t i = depth; i-- > 0;) json += (i % 2 == 0) ? "}" : "]";
  json += R"(,"id":"after"})";
  expect_field(json, "id", kind::string, "after");

  // Unclosed: 100k '[' and nothing else.
  const std::string open_only = R"({"junk":)" + std::string(depth, '[');
  EXPECT_FALSE(find_exact(open_only, {"id"}).has_value());

  // Mismatched at the very bottom is still caught.
  std::string mismatched = R"({"junk":)" + std::string(depth, '[') + "}" +
                           std::string(depth - 1, ']') + R"(,"id":1})";
  expect_missing(mismatched, "id");

  // The path itself can be deep too.
  std::string deep_path_json;
  std::vector<std::string> path;
  for (int i = 0; i < 1000; ++i) {
    deep_path_json += R"({"a":)";
    path.emplace_back("a");
  }
  deep_path_json += R"({"x":1,"id":7})" + std::string(1000, '}');
  path.emplace_back("id");
  const auto value = find_json_field(deep_path_json, path);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->text, "7");
}

TEST(JsonField, SplitDottedPath) {
  EXPECT_EQ(split_dotted_path("id"), (std::vector<std::string>{"id"}));
  EXPECT_EQ(split_dotted_path("meta.seq"), (std::vector<std::string>{"meta", "seq"}));
  EXPECT_EQ(split_dotted_path("a.b.c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_dotted_path(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split_dotted_path("a..b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split_dotted_path(".a."), (std::vector<std::string>{"", "a", ""}));
}

TEST(JsonField, ScalarEquality) {
  auto num = [](std::string t) { return json_scalar{kind::number, std::move(t)}; };
  EXPECT_TRUE(json_scalar_equal(num("1"), num("1.0")));
  EXPECT_TRUE(json_scalar_equal(num("1"), num("1e0")));
  EXPECT_TRUE(json_scalar_equal(num("100"), num("1E2")));
  EXPECT_TRUE(json_scalar_equal(num("0"), num("-0")));
  EXPECT_TRUE(json_scalar_equal(num("-0.0"), num("0")));
  EXPECT_FALSE(json_scalar_equal(num("1"), num("2")));
  EXPECT_FALSE(json_scalar_equal(num("-1"), num("1")));
  // Large integers compare exactly, not through doubles.
  EXPECT_FALSE(json_scalar_equal(num("9007199254740993"), num("9007199254740992")));
  EXPECT_TRUE(json_scalar_equal(num("12345678901234567890123"), num("12345678901234567890123")));
  EXPECT_FALSE(json_scalar_equal(num("1"), num("one")));
  EXPECT_FALSE(json_scalar_equal(num("1"), json_scalar{kind::string, "1"}));
  EXPECT_TRUE(json_scalar_equal(json_scalar{kind::string, "ack"}, json_scalar{kind::string, "ack"}));
  EXPECT_FALSE(json_scalar_equal(json_scalar{kind::string, "ack"}, json_scalar{kind::string, "Ack"}));
  EXPECT_TRUE(json_scalar_equal(json_scalar{kind::boolean, "true"},
                                json_scalar{kind::boolean, "true"}));
  EXPECT_FALSE(json_scalar_equal(json_scalar{kind::boolean, "true"},
                                 json_scalar{kind::boolean, "false"}));
  EXPECT_TRUE(json_scalar_equal(json_scalar{kind::null, "null"}, json_scalar{kind::null, ""}));
  EXPECT_FALSE(json_scalar_equal(json_scalar{kind::null, "null"},
                                 json_scalar{kind::string, "null"}));
}

TEST(JsonField, MatchRules) {
  const std::vector<json_match_rule> ack = {{{"type"}, {kind::string, "ack"}}};
  EXPECT_TRUE(json_matches(R"({"type":"ack","key":"k1"})", ack));
  EXPECT_TRUE(json_matches(R"({"key":"k1","type":"\u0061ck"})", ack));
  EXPECT_FALSE(json_matches(R"({"type":"ACK"})", ack));
  EXPECT_FALSE(json_matches(R"({"type":["ack"]})", ack));
  EXPECT_FALSE(json_matches(R"({"data":{"type":"ack"}})", ack));
  EXPECT_FALSE(json_matches(R"({"msg":"\"type\":\"ack\""})", ack));
  EXPECT_FALSE(json_matches("ack", ack));
  EXPECT_FALSE(json_matches("", ack));

  const std::vector<json_match_rule> several = {
      {{"type"}, {kind::string, "ack"}},
      {{"meta", "v"}, {kind::number, "1"}},
      {{"ok"}, {kind::boolean, "true"}},
      {{"err"}, {kind::null, "null"}},
  };
  EXPECT_TRUE(json_matches(R"({"ok":true,"err":null,"meta":{"v":1.0},"type":"ack"})", several));
  EXPECT_FALSE(json_matches(R"({"ok":true,"err":null,"meta":{"v":2},"type":"ack"})", several));
  EXPECT_FALSE(json_matches(R"({"ok":true,"meta":{"v":1},"type":"ack"})", several));
  EXPECT_FALSE(json_matches(R"({"ok":"true","err":null,"meta":{"v":1},"type":"ack"})", several));

  EXPECT_TRUE(json_matches(R"({"anything":1})", {}));  // no rules: vacuously true
}

TEST(JsonField, InsertIntoObject) {
  EXPECT_EQ(insert_json_string_field(R"({"a":1})", "key", "k1"), R"({"key":"k1","a":1})");
  EXPECT_EQ(insert_json_string_field(R"({"a":{"key":1},"b":[1,"key"]})", "key", "k"),
            R"({"key":"k","a":{"key":1},"b":[1,"key"]})");  // nested "key" does not count
  EXPECT_EQ(insert_json_string_field("  {\n  \"a\" : 1\n}\n", "key", "k"),
            "  {\"key\":\"k\",\n  \"a\" : 1\n}\n");
  EXPECT_EQ(insert_json_string_field("{}", "key", "k"), R"({"key":"k"})");
  EXPECT_EQ(insert_json_string_field(" { } ", "key", "k"), R"( {"key":"k" } )");
  EXPECT_EQ(insert_json_string_field(R"({"a":1})", "k\"y", "v\\\n"),
            R"({"k\"y":"v\\\n","a":1})");
}

TEST(JsonField, InsertKeepsTheUsersKey) {
  EXPECT_EQ(insert_json_string_field(R"({"key":"mine"})", "key", "k"), std::nullopt);
  EXPECT_EQ(insert_json_string_field(R"({"a":1,"key":null})", "key", "k"), std::nullopt);
  EXPECT_EQ(insert_json_string_field(R"({"a":1,"k\u0065y":2})", "key", "k"), std::nullopt);
}

TEST(JsonField, InsertLeavesNonObjectsAlone) {
  for (std::string_view text :
       {"", "   ", "hello", "[1,2]", R"("{}")", "42", "null", "{", R"({"a":1)", R"({"a":1}x)",
        R"({"a":1}{"b":2})", R"({"a":1,})", R"({"a":[1}})", "{\"a\":\"\n\"}", R"({a:1})"}) {
    EXPECT_EQ(insert_json_string_field(text, "key", "k"), std::nullopt) << text;
  }
}

TEST(JsonField, InsertedFieldRoundTrips) {
  const std::string value = "we\"ird\\ \x01 \xC3\xA9 \t";
  const auto out = insert_json_string_field(R"({"id":1})", "key", value);
  ASSERT_TRUE(out.has_value());
  expect_field(*out, "key", kind::string, value);
  expect_field(*out, "id", kind::number, "1");
}

TEST(JsonField, Escape) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape(""), "");
  EXPECT_EQ(json_escape("a\"b\\c"), R"(a\"b\\c)");
  EXPECT_EQ(json_escape("\b\f\n\r\t"), R"(\b\f\n\r\t)");
  EXPECT_EQ(json_escape(std::string_view("\x00\x01\x1f", 3)), R"(\u0000\u0001\u001f)");
  EXPECT_EQ(json_escape("/ \x7f \xC3\xA9"), "/ \x7f \xC3\xA9");  // no needless escapes
  EXPECT_EQ(json_quote("a\"b"), R"("a\"b")");
  EXPECT_EQ(json_quote(""), R"("")");
}

TEST(JsonField, EscapeRoundTripsThroughFind) {
  std::string all;
  for (int i = 1; i < 128; ++i) all += static_cast<char>(i);
  all += "\xF0\x9F\x98\x80";
  const std::string json = "{\"v\":" + json_quote(all) + "}";
  expect_field(json, "v", kind::string, all);
}

}  // namespace
}  // namespace rws
