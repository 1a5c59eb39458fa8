#pragma once
// One shared copy of each distinct session configuration. Sockets made with equal options (a
// fleet of connections to one service, the usual case with thousands of them) keep one config
// between them instead of ~1 KB each (bench idle-5000: RSS per idle connection). Sharing is safe
// because a session never changes its configuration.
//
// Equality is the configs' defaulted operator==, so a field added later is compared without
// anyone remembering to; the hash looks only at the fields most likely to differ, which is enough
// to keep buckets short. Entries are weak: a config lives as long as a session uses it.
// One cache per environment, used on its JavaScript thread only (no lock).
#include <cstddef>
#include <memory>

#include "common/weak_buckets.hpp"
#include "session/session_config.hpp"

namespace rws {

class config_cache {
 public:
  // An equal config already in use, or `config` itself, now shared.
  std::shared_ptr<const session_config> share(session_config config);
  // Distinct configs held (live or not yet swept): for tests.
  std::size_t size() const { return entries_.size(); }

 private:
  static std::size_t hash(const session_config& config);

  weak_buckets<std::weak_ptr<const session_config>> entries_;
};

}  // namespace rws
