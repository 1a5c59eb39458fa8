#pragma once
// The masking keys of one io thread (an Asio service of its io_context; mask_keys.hpp), so an
// idle connection carries no pool of its own. (Not thread_local: a large thread_local in a
// dlopen'd addon can exhaust glibc's static TLS block and make the addon fail to load.)
#include <boost/asio/io_context.hpp>
#include <cstdint>

#include "transport/mask_keys.hpp"

namespace rws {

class mask_source : public boost::asio::execution_context::service {
 public:
  using key_type = mask_source;
  static inline boost::asio::execution_context::id id;

  explicit mask_source(boost::asio::io_context& io) : boost::asio::execution_context::service(io) {}
  static mask_source& of(boost::asio::io_context& io) { return boost::asio::use_service<mask_source>(io); }

  // The io thread only.
  std::uint32_t next() { return keys_.next(); }

 private:
  void shutdown() override {}

  mask_keys keys_;
};

}  // namespace rws
