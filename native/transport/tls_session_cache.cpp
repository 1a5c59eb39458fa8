#include "transport/tls_session_cache.hpp"

#include <ctime>
#include <limits>

namespace rws {
namespace {

bool usable(SSL_SESSION* session, long now) {
  return SSL_SESSION_is_resumable(session) &&
         static_cast<long>(SSL_SESSION_get_time(session)) + static_cast<long>(SSL_SESSION_get_timeout(session)) > now;
}

// When the newest of these sessions was issued (none: before anything).
long newest_time(const std::vector<SSL_SESSION*>& sessions) {
  return sessions.empty() ? std::numeric_limits<long>::min() : static_cast<long>(SSL_SESSION_get_time(sessions.back()));
}

void free_all(std::vector<SSL_SESSION*>& sessions) {
  for (SSL_SESSION* s : sessions) SSL_SESSION_free(s);
  sessions.clear();
}

}  // namespace

tls_session_cache::~tls_session_cache() {
  for (auto& [server, sessions] : by_server_) free_all(sessions);
}

void tls_session_cache::keep(const std::string& server, SSL_SESSION* session) {
  std::lock_guard lock(mutex_);
  auto& sessions = by_server_[server];
  if (sessions.size() >= per_server) {
    SSL_SESSION_free(sessions.front());
    sessions.erase(sessions.begin());
  }
  sessions.push_back(session);
  if (by_server_.size() > max_servers) evict_stalest(server);
}

SSL_SESSION* tls_session_cache::take(const std::string& server) {
  std::lock_guard lock(mutex_);
  auto found = by_server_.find(server);
  if (found == by_server_.end()) return nullptr;
  auto& sessions = found->second;
  const long now = static_cast<long>(std::time(nullptr));
  while (!sessions.empty() && !usable(sessions.back(), now)) {
    SSL_SESSION_free(sessions.back());
    sessions.pop_back();
  }
  if (sessions.empty()) {
    by_server_.erase(found);
    return nullptr;
  }
  if (sessions.size() > 1) {
    // Offered once: the connection owns it now, and nobody else will offer it.
    SSL_SESSION* newest = sessions.back();
    sessions.pop_back();
    return newest;
  }
  // The last one stays for whoever asks next. A copy: a connection that ends without a TLS
  // shutdown (a dropped one, exactly when resumption matters) marks its session unresumable,
  // and that must not spoil the one kept here.
  return SSL_SESSION_dup(sessions.back());
}

std::size_t tls_session_cache::servers() {
  std::lock_guard lock(mutex_);
  return by_server_.size();
}

void tls_session_cache::evict_stalest(const std::string& except) {
  auto stalest = by_server_.end();
  for (auto it = by_server_.begin(); it != by_server_.end(); ++it) {
    if (it->first == except) continue;
    if (stalest == by_server_.end() || newest_time(it->second) < newest_time(stalest->second)) stalest = it;
  }
  if (stalest == by_server_.end()) return;
  free_all(stalest->second);
  by_server_.erase(stalest);
}

}  // namespace rws
