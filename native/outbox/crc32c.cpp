#include "outbox/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <nmmintrin.h>
#define RWS_CRC32C_X86 1
#endif

namespace rws {
namespace {

constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

// Slicing-by-8: table k holds the CRC of byte i followed by k zero bytes, so eight input bytes
// fold into the CRC with eight independent lookups instead of eight dependent ones. Built at
// compile time: no start-up cost and no mutable static.
using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_tables make_tables() {
  crc_tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ castagnoli_reflected : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  }
  return t;
}

constexpr crc_tables tables = make_tables();

inline std::uint32_t bytewise(std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  while (n--) c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xFFu];
  return c;
}

#ifdef RWS_CRC32C_X86
// "crc32" as well: clang >= 14 (the zig toolchain of the prebuilds) no longer implies it from sse4.2.
__attribute__((target("sse4.2,crc32"))) std::uint32_t hardware_impl(std::uint32_t crc, const void* data,
                                                                    std::size_t size) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  std::uint64_t c = ~crc;
  // memcpy instead of a cast: inputs are record slices at arbitrary offsets of a read buffer.
  while (size >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    size -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (size--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

// cpuid, not __builtin_cpu_supports: that one needs compiler-rt's __cpu_model, which the zig
// toolchain of the prebuilt binaries does not provide.
bool cpu_has_sse42() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_SSE4_2) != 0;
}
#endif

using crc_impl = std::uint32_t (*)(std::uint32_t, const void*, std::size_t) noexcept;

crc_impl select_impl() noexcept {
#ifdef RWS_CRC32C_X86
  if (cpu_has_sse42()) return &hardware_impl;
#endif
  return &crc32c_extend_portable;
}

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept {
  auto p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  if constexpr (std::endian::native == std::endian::little) {
    while (size >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      v ^= c;
      c = tables[7][v & 0xFFu] ^ tables[6][(v >> 8) & 0xFFu] ^ tables[5][(v >> 16) & 0xFFu] ^
          tables[4][(v >> 24) & 0xFFu] ^ tables[3][(v >> 32) & 0xFFu] ^
          tables[2][(v >> 40) & 0xFFu] ^ tables[1][(v >> 48) & 0xFFu] ^ tables[0][v >> 56];
      p += 8;
      size -= 8;
    }
  }
  return ~bytewise(c, p, size);
}

bool crc32c_hardware_available() noexcept {
#ifdef RWS_CRC32C_X86
  return cpu_has_sse42();
#else
  return false;
#endif
}

std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t size) noexcept {
#ifdef RWS_CRC32C_X86
  if (cpu_has_sse42()) return hardware_impl(crc, data, size);
#endif
  return crc32c_extend_portable(crc, data, size);
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept {
  // Chosen once; a function-local constant (not per-environment state), safe from any thread.
  static const crc_impl impl = select_impl();
  return impl(crc, data, size);
}

}  // namespace rws
