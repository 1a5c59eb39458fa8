#include "transport/tls_context_cache.hpp"

#include <functional>

#include "transport/transport.hpp"

namespace rws {

std::size_t tls_context_cache::hash(const tls_config& settings) {
  const std::hash<std::string> text;
  // The certificate material is what differs between contexts; hashing it once per new socket
  // costs microseconds against the ~0.4 ms of building a context.
  return text(settings.ca) ^ (text(settings.cert) << 1) ^ (text(settings.key) << 2) ^
         static_cast<std::size_t>(settings.reject_unauthorized);
}

std::shared_ptr<boost::asio::ssl::context> tls_context_cache::share(const tls_config& tls, std::string& error,
                                                                    const std::shared_ptr<X509_STORE>& default_store) {
  tls_config settings = tls;
  settings.servername.clear();
  // The default trust store only stands in for an empty tls.ca.
  X509_STORE* store = settings.ca.empty() ? default_store.get() : nullptr;
  const std::size_t key = hash(settings);
  std::shared_ptr<boost::asio::ssl::context> existing;
  if (entries_.find(key, [&](const entry& e) {
        existing = e.context.lock();
        return existing && e.default_store == store && e.settings == settings;
      })) {
    return existing;
  }
  auto made = make_tls_context(tls, error, default_store);
  if (made) entries_.add(key, entry{std::move(settings), store, made});
  return made;
}

}  // namespace rws
