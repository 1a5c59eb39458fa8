#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace rws {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// Independent reference: decode by arithmetic instead of a table. For a trailing incomplete
// sequence, it is a valid prefix iff some completion is a valid scalar value of that length.
enum class ref_result { complete, prefix, invalid };

ref_result reference(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const unsigned b = s[i];
    std::size_t len;
    std::uint32_t cp;
    std::uint32_t min;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return ref_result::invalid;
    }
    std::size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return ref_result::invalid;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    const std::size_t missing = len - k;
    const std::uint32_t lo = cp << (6 * missing);
    const std::uint32_t hi = lo | ((1u << (6 * missing)) - 1);
    const std::uint32_t a = std::max(lo, min);
    const std::uint32_t z = std::min<std::uint32_t>(hi, 0x10ffff);
    if (a > z) return ref_result::invalid;
    if (a >= 0xd800 && z <= 0xdfff) return ref_result::invalid;  // only surrogates reachable
    if (missing != 0) return ref_result::prefix;
    i += len;
  }
  return ref_result::complete;
}

ref_result dfa(const unsigned char* s, std::size_t n) {
  utf8_validator v;
  if (!v.feed(reinterpret_cast<const char*>(s), n)) return ref_result::invalid;
  return v.complete() ? ref_result::complete : ref_result::prefix;
}

TEST(Utf8, AcceptsKnownGoodSequences) {
  const std::vector<std::string> good = {
      "",
      "hello, world",
      bytes({0x7f}),
      bytes({0xc2, 0x80}),              // U+0080, smallest 2-byte
      bytes({0xdf, 0xbf}),              // U+07FF
      bytes({0xe0, 0xa0, 0x80}),        // U+0800, smallest 3-byte
      "\xe2\x82\xac",                   // €
      bytes({0xed, 0x9f, 0xbf}),        // U+D7FF, just below the surrogates
      bytes({0xee, 0x80, 0x80}),        // U+E000, just above
      bytes({0xef, 0xbf, 0xbf}),        // U+FFFF
      bytes({0xf0, 0x90, 0x80, 0x80}),  // U+10000, smallest 4-byte
      "\xf0\x9d\x84\x9e",               // 𝄞
      bytes({0xf4, 0x8f, 0xbf, 0xbf}),  // U+10FFFF, the last code point
      "κόσμε",
      "mixed ascii and ünïcödé text that is longer than eight bytes €€€ 𝄞𝄞",
  };
  for (const auto& s : good) {
    EXPECT_TRUE(is_valid_utf8(s)) << testing::PrintToString(s);
    utf8_validator v;
    EXPECT_TRUE(v.feed(s.data(), s.size()));
    EXPECT_TRUE(v.complete());
  }
}

TEST(Utf8, RejectsKnownBadSequences) {
  const std::vector<std::string> bad = {
      bytes({0xc0, 0x80}),              // overlong NUL
      bytes({0xc1, 0xbf}),              // overlong U+007F
      bytes({0xe0, 0x80, 0x80}),        // overlong 3-byte
      bytes({0xe0, 0x9f, 0xbf}),        // overlong U+07FF
      bytes({0xf0, 0x80, 0x80, 0x80}),  // overlong 4-byte
      bytes({0xf0, 0x8f, 0xbf, 0xbf}),  // overlong U+FFFF
      bytes({0xed, 0xa0, 0x80}),        // U+D800, high surrogate
      bytes({0xed, 0xbf, 0xbf}),        // U+DFFF, low surrogate
      bytes({0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80}),  // CESU-8 pair
      bytes({0xf4, 0x90, 0x80, 0x80}),  // U+110000
      bytes({0xf5, 0x80, 0x80, 0x80}),
      bytes({0xf8, 0x88, 0x80, 0x80, 0x80}),  // old 5-byte form
      bytes({0xff}),
      bytes({0xfe}),
      bytes({0x80}),                    // lone continuation
      bytes({0xbf}),
      bytes({0xc2, 0x41}),              // lead without continuation
      bytes({0xe2, 0x82, 0x41}),
      bytes({0xe2, 0x82}),              // truncated
      bytes({0xf0, 0x9d, 0x84}),        // truncated
      bytes({0xc2}),
      std::string("abc") + bytes({0xe2, 0x82}),
  };
  for (const auto& s : bad) EXPECT_FALSE(is_valid_utf8(s)) << testing::PrintToString(s);
}

TEST(Utf8, FeedFailsAtTheFirstImpossibleByte) {
  utf8_validator v;
  EXPECT_FALSE(v.feed("\xc0", 1));  // C0 can never start a valid sequence
  v.reset();
  EXPECT_TRUE(v.feed("\xed", 1));
  EXPECT_FALSE(v.feed("\xa0", 1));  // ED A0: surrogate, known at the second byte
  v.reset();
  EXPECT_TRUE(v.feed("\xf4", 1));
  EXPECT_FALSE(v.feed("\x90", 1));  // F4 90: above U+10FFFF
  v.reset();
  EXPECT_TRUE(v.feed("\xe0", 1));
  EXPECT_FALSE(v.feed("\x9f", 1));  // E0 9F: overlong
  v.reset();
  EXPECT_TRUE(v.feed("\xf0", 1));
  EXPECT_FALSE(v.feed("\x8f", 1));  // F0 8F: overlong
}

TEST(Utf8, TruncatedIsAPrefixButNotComplete) {
  utf8_validator v;
  EXPECT_TRUE(v.feed("ab\xe2\x82", 4));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed("\xac", 1));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, StaysFailedUntilReset) {
  utf8_validator v;
  EXPECT_FALSE(v.feed("\xff", 1));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.feed("abc", 3));
  EXPECT_FALSE(v.feed("", 0));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed("abc", 3));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, EverySplitPointGivesTheSameAnswer) {
  const std::vector<std::string> inputs = {
      "ascii only, long enough to use the eight byte path several times over",
      "€uro and 𝄞 clef and ünïcödé, with ascii runs of more than eight bytes in between",
      std::string("0123456789abcdef0123") + bytes({0xed, 0xa0, 0x80}) + "tail",
      std::string("0123456789abcdef012") + bytes({0xf4, 0x90, 0x80, 0x80}),
      std::string(37, 'x') + bytes({0xe2, 0x82}),
  };
  for (const auto& s : inputs) {
    const auto* u = reinterpret_cast<const unsigned char*>(s.data());
    const ref_result whole = reference(u, s.size());
    ASSERT_EQ(dfa(u, s.size()), whole) << s;
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      utf8_validator v;
      const bool a = v.feed(s.data(), cut);
      const bool b = v.feed(s.data() + cut, s.size() - cut);
      const ref_result split = !(a && b) ? ref_result::invalid : v.complete() ? ref_result::complete : ref_result::prefix;
      EXPECT_EQ(split, whole) << "cut at " << cut << " of " << testing::PrintToString(s);
    }
    utf8_validator bytewise;
    bool ok = true;
    for (char c : s) ok = bytewise.feed(&c, 1) && ok;
    EXPECT_EQ(!ok ? ref_result::invalid : bytewise.complete() ? ref_result::complete : ref_result::prefix, whole);
  }
}

TEST(Utf8, BadByteFoundAtEveryOffsetOfTheAsciiFastPath) {
  // The 8-byte skip must not step over a bad byte wherever it sits relative to the word.
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string s(len, 'a');
      s[pos] = static_cast<char>(0x80);
      EXPECT_FALSE(is_valid_utf8(s)) << "len " << len << " pos " << pos;
      s[pos] = static_cast<char>(0xc3);  // a lead byte whose continuation is missing or ASCII
      EXPECT_FALSE(is_valid_utf8(s)) << "len " << len << " pos " << pos;
    }
  }
}

TEST(Utf8, MatchesReferenceOnEveryOneTwoAndThreeByteSequence) {
  unsigned char s[3];
  for (int a = 0; a < 256; ++a) {
    s[0] = static_cast<unsigned char>(a);
    ASSERT_EQ(dfa(s, 1), reference(s, 1)) << a;
    for (int b = 0; b < 256; ++b) {
      s[1] = static_cast<unsigned char>(b);
      ASSERT_EQ(dfa(s, 2), reference(s, 2)) << a << ' ' << b;
      if (a < 0xc0) continue;  // 3-byte inputs starting with ASCII/continuation add nothing new
      for (int c = 0; c < 256; ++c) {
        s[2] = static_cast<unsigned char>(c);
        ASSERT_EQ(dfa(s, 3), reference(s, 3)) << a << ' ' << b << ' ' << c;
      }
    }
  }
}

TEST(Utf8, MatchesReferenceOnFourByteBoundaries) {
  const int edges[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  unsigned char s[4];
  for (int a = 0xf0; a <= 0xff; ++a)
    for (int b = 0; b < 256; ++b)
      for (int c : edges)
        for (int d : edges) {
          s[0] = static_cast<unsigned char>(a), s[1] = static_cast<unsigned char>(b);
          s[2] = static_cast<unsigned char>(c), s[3] = static_cast<unsigned char>(d);
          ASSERT_EQ(dfa(s, 4), reference(s, 4)) << a << ' ' << b << ' ' << c << ' ' << d;
        }
}

TEST(Utf8, EveryCodePointEncodedIsValidExceptSurrogates) {
  for (std::uint32_t cp = 0; cp <= 0x10ffff; ++cp) {
    unsigned char s[4];
    std::size_t n;
    if (cp < 0x80) {
      s[0] = static_cast<unsigned char>(cp), n = 1;
    } else if (cp < 0x800) {
      s[0] = static_cast<unsigned char>(0xc0 | (cp >> 6)), s[1] = static_cast<unsigned char>(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
      s[0] = static_cast<unsigned char>(0xe0 | (cp >> 12)), s[1] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3f));
      s[2] = static_cast<unsigned char>(0x80 | (cp & 0x3f)), n = 3;
    } else {
      s[0] = static_cast<unsigned char>(0xf0 | (cp >> 18)), s[1] = static_cast<unsigned char>(0x80 | ((cp >> 12) & 0x3f));
      s[2] = static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3f)), s[3] = static_cast<unsigned char>(0x80 | (cp & 0x3f));
      n = 4;
    }
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    ASSERT_EQ(is_valid_utf8(std::string_view(reinterpret_cast<const char*>(s), n)), !surrogate) << std::hex << cp;
  }
}

// utf16_length counts what JavaScript's String length counts, so text runs slice exactly.
TEST(Utf16Length, CountsUtf16UnitsAndSpotsAscii) {
  struct sample {
    const char* utf8;
    std::uint32_t units;
    bool ascii;
  };
  const sample samples[] = {
      {"", 0, true},
      {"hello", 5, true},
      {"\x7f", 1, true},
      {"\xc3\xa9", 1, false},                  // é: 2 bytes, 1 unit
      {"\xe6\x97\xa5\xe6\x9c\xac", 2, false},  // 日本: 3 bytes each
      {"\xf0\x9f\x98\x80", 2, false},          // 😀: 4 bytes, a surrogate pair
      {"a\xf0\x9d\x84\x9e\xc3\xa9z", 5, false},  // a 𝄞 é z
  };
  for (const auto& s : samples) {
    bool ascii = !s.ascii;
    EXPECT_EQ(utf16_length(s.utf8, ascii), s.units) << s.utf8;
    EXPECT_EQ(ascii, s.ascii) << s.utf8;
  }
}

// Every code point, against the UTF-16 length of its own encoding.
TEST(Utf16Length, MatchesUtf16ForEveryCodePoint) {
  std::string text;
  std::uint32_t expected = 0;
  for (std::uint32_t cp = 1; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp < 0x80) {
      text += static_cast<char>(cp);
    } else if (cp < 0x800) {
      text += static_cast<char>(0xc0 | (cp >> 6));
      text += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      text += static_cast<char>(0xe0 | (cp >> 12));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      text += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      text += static_cast<char>(0xf0 | (cp >> 18));
      text += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      text += static_cast<char>(0x80 | (cp & 0x3f));
    }
    expected += cp < 0x10000 ? 1 : 2;
  }
  ASSERT_TRUE(is_valid_utf8(text));
  bool ascii = true;
  EXPECT_EQ(utf16_length(text, ascii), expected);
  EXPECT_FALSE(ascii);
}

}  // namespace
}  // namespace rws
