#pragma once
// The TLS sessions servers issued (TLS 1.3 tickets, TLS 1.2 session ids), kept to resume later
// connections to the same server — a reconnect after a blip, or another socket, since sockets
// with equal TLS settings share one SSL_CTX and so one cache (tls_context_cache.hpp) — with an
// abbreviated handshake instead of a full one. The cache lives in the SSL_CTX (transport.cpp).
//
// A server is its verified name (tls.servername or the URL's host) and port, so a session is
// only offered where the certificate it was verified with is expected again. Each session is
// offered once while the server has left more than one (RFC 8446 §C.4: reusing a ticket lets an
// observer link connections, and a server may accept each ticket only once); the newest is then
// offered as often as needed until the server issues more, since a fleet reconnecting at once
// outnumbers the tickets it holds, and a refused ticket costs only the full handshake it saved.
//
// Bounded: per_server sessions per server, max_servers servers (the one whose newest session is
// oldest goes first). Expired and unresumable sessions are dropped when met. Used by io threads:
// one at a time, except that an io thread that did not stop in time (io_runtime::exit_limit) is
// left running while the next one starts, hence the lock.
#include <openssl/ssl.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace rws {

class tls_session_cache {
 public:
  static constexpr std::size_t per_server = 4;
  static constexpr std::size_t max_servers = 256;

  tls_session_cache() = default;
  ~tls_session_cache();
  tls_session_cache(const tls_session_cache&) = delete;
  tls_session_cache& operator=(const tls_session_cache&) = delete;

  // Keeps `session` for `server` ("name:port"); the cache takes this reference.
  void keep(const std::string& server, SSL_SESSION* session);
  // A session to offer `server` (see above), or nullptr. The caller owns the reference.
  SSL_SESSION* take(const std::string& server);
  // Servers with sessions kept: for tests.
  std::size_t servers();

 private:
  void evict_stalest(const std::string& except);  // with mutex_ held

  std::mutex mutex_;
  std::map<std::string, std::vector<SSL_SESSION*>> by_server_;  // each oldest first
};

}  // namespace rws
