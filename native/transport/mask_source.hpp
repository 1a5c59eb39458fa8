#pragma once
// Masking keys for client frames, one source per io thread (an Asio service of its io_context).
// RFC 6455 §10.3 wants keys an observer cannot predict, so they come from OpenSSL's CSPRNG,
// fetched 1,024 at a time: neither a frame nor a connection's first frame pays a call, and an
// idle connection carries no pool of its own. (Not thread_local: a large thread_local in a
// dlopen'd addon can exhaust glibc's static TLS block and make the addon fail to load.)
#include <openssl/rand.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>

namespace rws {

class mask_source : public boost::asio::execution_context::service {
 public:
  using key_type = mask_source;
  static inline boost::asio::execution_context::id id;

  explicit mask_source(boost::asio::io_context& io) : boost::asio::execution_context::service(io) {}
  static mask_source& of(boost::asio::io_context& io) { return boost::asio::use_service<mask_source>(io); }

  // The io thread only.
  std::uint32_t next() {
    if (used_ == pool_.size()) {
      RAND_bytes(reinterpret_cast<unsigned char*>(pool_.data()), sizeof pool_);
      used_ = 0;
    }
    return pool_[used_++];
  }

 private:
  void shutdown() override {}

  std::array<std::uint32_t, 1024> pool_{};
  std::size_t used_ = pool_.size();
};

}  // namespace rws
