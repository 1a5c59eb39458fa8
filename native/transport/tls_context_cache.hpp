#pragma once
// One TLS context (SSL_CTX) for all sockets with equal TLS settings. Building a context is the
// costly part of opening a wss:// socket with OpenSSL 3: it fetches every algorithm, builds the
// cipher, group and signature lists and parses tls.ca again: ~0.4 ms of the JavaScript thread
// per socket (bench/fleet.js), which a fleet of sockets to one service would each pay. Shared,
// the sockets also share its session cache (tls_session_cache.hpp): a socket resumes a TLS
// session another one got from the same server instead of a full handshake. Together the two
// halved the memory of an idle wss:// socket (bench/fleet.js: 44.9 → 22.6 KiB).
//
// Only settings that make a context differ make it separate: tls.ca (or the default trust store
// it stands for), the client certificate, key and passphrase, and rejectUnauthorized. A session
// cached under one context was therefore verified under the same rules as any socket that
// resumes it. tls.servername is per connection (SNI and the session cache's key), not part of it.
// Entries are weak: a context lives as long as a session uses it. One cache per environment,
// used on its JavaScript thread only (no lock).
#include <openssl/types.h>

#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "common/weak_buckets.hpp"
#include "transport/tls_config.hpp"

namespace rws {

class tls_context_cache {
 public:
  // A live context made with settings equal to `tls` (and the same `default_store`), or a new one
  // (make_tls_context). nullptr with `error` set when the PEM material is unusable; nothing is
  // remembered then.
  std::shared_ptr<boost::asio::ssl::context> share(const tls_config& tls, std::string& error,
                                                   const std::shared_ptr<X509_STORE>& default_store);
  // Distinct contexts held (live or not yet swept): for tests.
  std::size_t size() const { return entries_.size(); }

 private:
  struct entry {
    tls_config settings;  // servername cleared: it does not shape the context
    X509_STORE* default_store;
    std::weak_ptr<boost::asio::ssl::context> context;
    bool expired() const { return context.expired(); }
  };
  static std::size_t hash(const tls_config& settings);

  weak_buckets<entry> entries_;
};

}  // namespace rws
