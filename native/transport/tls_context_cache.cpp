#include "transport/tls_context_cache.hpp"

#include <functional>

#include "transport/transport.hpp"

namespace rws {

std::size_t tls_context_cache::hash(const tls_config& settings) {
  const std::hash<std::string> text;
  // The certificate material is what differs between contexts; hashing it once per new socket
  // costs microseconds against the ~0.5 ms of building a context.
  return text(settings.ca) ^ (text(settings.cert) << 1) ^ (text(settings.key) << 2) ^
         static_cast<std::size_t>(settings.reject_unauthorized);
}

std::shared_ptr<boost::asio::ssl::context> tls_context_cache::share(const tls_config& tls, std::string& error,
                                                                    const std::shared_ptr<X509_STORE>& default_store) {
  tls_config settings = tls;
  settings.servername.clear();
  // The default trust store only stands in for an empty tls.ca.
  X509_STORE* store = settings.ca.empty() ? default_store.get() : nullptr;
  auto& bucket = buckets_[hash(settings)];
  entry* free_slot = nullptr;
  for (auto& e : bucket) {
    auto existing = e.context.lock();
    if (!existing) free_slot = &e;
    if (existing && e.default_store == store && e.settings == settings) return existing;
  }
  auto made = make_tls_context(tls, error, default_store);
  if (!made) {
    if (bucket.empty()) buckets_.erase(hash(settings));
    return nullptr;
  }
  if (free_slot) {
    *free_slot = entry{std::move(settings), store, made};
    return made;
  }
  bucket.push_back(entry{std::move(settings), store, made});
  ++size_;
  // As config_cache: sweeping once more contexts were added than were held at the last sweep
  // keeps share() constant on average and the entries under about twice those in use.
  if (++added_since_sweep_ > size_ / 2) sweep();
  return made;
}

void tls_context_cache::sweep() {
  added_since_sweep_ = 0;
  size_ = 0;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    std::erase_if(it->second, [](const entry& e) { return e.context.expired(); });
    size_ += it->second.size();
    it = it->second.empty() ? buckets_.erase(it) : std::next(it);
  }
}

}  // namespace rws
