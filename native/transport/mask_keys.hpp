#pragma once
// Masking keys for client frames. RFC 6455 §10.3 wants keys an observer cannot predict, so they
// come from OpenSSL's CSPRNG, fetched 1,024 at a time: no frame pays a call of its own. One pool
// per thread that masks: the io thread's (mask_source.hpp) and the JavaScript thread's, where the
// binding masks large binaries as it copies them out of their Buffers.
#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>

namespace rws {

class mask_keys {
 public:
  // One thread only.
  std::uint32_t next() {
    if (used_ == pool_.size()) {
      if (RAND_bytes(reinterpret_cast<unsigned char*>(pool_.data()), sizeof pool_) != 1) {
        // OpenSSL could not seed itself (it practically never fails on Linux): the kernel's
        // generator instead, never a predictable (or all-zero) key.
        std::random_device kernel;
        for (auto& key : pool_) key = kernel();
      }
      used_ = 0;
    }
    return pool_[used_++];
  }

 private:
  std::array<std::uint32_t, 1024> pool_{};
  std::size_t used_ = pool_.size();
};

}  // namespace rws
