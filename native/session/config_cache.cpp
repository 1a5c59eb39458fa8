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
  const std::size_t key = hash(config);
  std::shared_ptr<const session_config> existing;
  if (entries_.find(key, [&](const std::weak_ptr<const session_config>& entry) {
        existing = entry.lock();
        return existing && *existing == config;
      })) {
    return existing;
  }
  // Not make_shared: a weak entry would keep a make_shared block (the whole config) allocated
  // until swept; this way an expired entry holds only the control block.
  std::shared_ptr<const session_config> made(new session_config(std::move(config)));
  entries_.add(key, made);
  return made;
}

}  // namespace rws
