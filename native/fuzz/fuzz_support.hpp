#pragma once
// Shared by the libFuzzer harnesses: reading structured choices from the fuzz bytes, and a
// check that reports a broken invariant the way a sanitizer reports memory errors (message,
// then abort), so libFuzzer saves the input as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace rws::fuzz {

// Takes fixed-size choices off the front of the input; once the input is used up every read
// returns 0, so every input is a valid test case.
class input_reader {
 public:
  input_reader(const std::uint8_t* data, std::size_t size)
      : bytes_(reinterpret_cast<const char*>(data), size) {}

  std::uint8_t u8() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  // Little-endian. Each byte is read in its own statement: the operands of one expression are
  // evaluated in an unspecified order, and an input must mean the same on every compiler.
  std::uint16_t u16() {
    const std::uint16_t lo = u8();
    return static_cast<std::uint16_t>(lo | (u8() << 8));
  }
  std::uint32_t u32() {
    const std::uint32_t lo = u16();
    return lo | (std::uint32_t{u16()} << 16);
  }
  std::uint64_t u64() {
    const std::uint64_t lo = u32();
    return lo | (std::uint64_t{u32()} << 32);
  }

  // Up to n bytes (fewer at the end of the input).
  std::string_view take(std::size_t n) {
    const std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(out.size());
    return out;
  }
  std::string_view rest() { return take(bytes_.size()); }
  bool empty() const { return bytes_.empty(); }
  std::size_t size() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\n==FUZZ INVARIANT== %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace rws::fuzz

// An invariant of the unit under test; a violation aborts so libFuzzer keeps the input.
#define FUZZ_CHECK(cond, what) \
  do {                         \
    if (!(cond)) ::rws::fuzz::invariant_failed(what, __FILE__, __LINE__); \
  } while (0)
