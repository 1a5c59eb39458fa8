#include "outbox/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rws {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("a"), 0xC1D04330u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string up(32, '\0');
  std::string down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down), 0x113FDB5Cu);
}

TEST(Crc32c, PortableAndHardwareAgreeOnEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::vector<unsigned char> data(4096 + 16);
  for (auto& b : data) b = static_cast<unsigned char>(rng());
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t len = 0; len < 300; ++len) {
      const auto* p = data.data() + offset;
      ASSERT_EQ(crc32c_extend_portable(0, p, len), crc32c_extend_hardware(0, p, len))
          << "offset " << offset << " len " << len;
      ASSERT_EQ(crc32c(p, len), crc32c_extend_portable(0, p, len));
    }
  }
  EXPECT_EQ(crc32c_extend_portable(0, data.data(), 4096),
            crc32c_extend_hardware(0, data.data(), 4096));
  std::printf("[ info     ] crc32c hardware (SSE4.2): %s\n",
              crc32c_hardware_available() ? "yes" : "no");
}

TEST(Crc32c, ExtendEqualsWhole) {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const std::uint32_t first = crc32c(text.data(), cut);
    EXPECT_EQ(crc32c_extend(first, text.data() + cut, text.size() - cut), crc32c(text));
    EXPECT_EQ(crc32c_extend_portable(crc32c_extend_portable(0, text.data(), cut), text.data() + cut,
                                     text.size() - cut),
              crc32c(text));
  }
}

}  // namespace
}  // namespace rws
