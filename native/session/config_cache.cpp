#include "session/config_cache.hpp"

#include <functional>
#include <string>

namespace rws {

namespace {

void mix(std::size_t& seed, std::size_t value) { seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2); }

}  // namespace

std::size_t config_cache::hash(const session_config& config) {
  const std::hash<std::string> text;
  std::size_t seed = config.urls.size();
  for (const auto& url : config.urls) {
    mix(seed, text(url.host_header));
    mix(seed, text(url.target));
    mix(seed, text(url.basic_auth));
  }
  for (const auto& [name, value] : config.headers) mix(seed, text(name) ^ text(value));
  mix(seed, text(config.outbox.path));
  mix(seed, text(config.tls.servername));
  mix(seed, config.heartbeat.interval_ms);
  return seed;
}

std::shared_ptr<const session_config> config_cache::share(session_config config) {
  auto& bucket = buckets_[hash(config)];
  std::weak_ptr<const session_config>* free_slot = nullptr;
  for (auto& entry : bucket) {
    auto existing = entry.lock();
    if (!existing) free_slot = &entry;
    if (existing && *existing == config) return existing;
  }
  // Not make_shared: a weak entry would keep a make_shared block (the whole config) allocated
  // until swept; this way an expired entry holds only the control block.
  std::shared_ptr<const session_config> made(new session_config(std::move(config)));
  if (free_slot) {
    *free_slot = made;
    return made;
  }
  bucket.push_back(made);
  ++size_;
  // Sweeping once more configs were added than were held at the last sweep keeps the cost per
  // share() constant on average, and the entries under about twice the configs then in use,
  // however many distinct ones come and go.
  if (++added_since_sweep_ > size_ / 2) sweep();
  return made;
}

void config_cache::sweep() {
  added_since_sweep_ = 0;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto& bucket = it->second;
    std::erase_if(bucket, [](const auto& entry) { return entry.expired(); });
    if (bucket.empty()) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  size_ = 0;
  for (const auto& [key, bucket] : buckets_) size_ += bucket.size();
}

}  // namespace rws
