#pragma once
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every outbox record.
// Castagnoli rather than zlib's CRC-32 because x86-64 computes it in hardware (SSE4.2 `crc32`),
// which keeps checksumming a 1,000,000-record recovery far below the 1 s budget; the portable
// slicing-by-8 table is the fallback on CPUs (or architectures) without it.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rws {

// Continues a CRC over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b).
// Start a fresh checksum with crc = 0. Thread-safe (no mutable state after static init).
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept;

inline std::uint32_t crc32c(const void* data, std::size_t size) noexcept {
  return crc32c_extend(0, data, size);
}

inline std::uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

// The two implementations, exposed so a test can prove they agree on the machine it runs on.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) noexcept;
// Falls back to the portable code when the CPU lacks SSE4.2 (or on non-x86 builds).
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t size) noexcept;
bool crc32c_hardware_available() noexcept;

}  // namespace rws
