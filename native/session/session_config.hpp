#pragma once
// The clean, flat configuration a session runs on. lib/options.js validates and defaults every
// option; the binding copies the result into this struct, so the core never sees bad input.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "outbox/outbox_config.hpp"
#include "protocol/url.hpp"
#include "resume/resume_config.hpp"
#include "session/backoff.hpp"
#include "session/heartbeat_config.hpp"
#include "transport/proxy_tunnel.hpp"
#include "transport/tls_config.hpp"

namespace rws {

struct reconnect_config {
  bool enabled = true;
  backoff_config curve;
  std::uint32_t stable_after_ms = 5000;
  std::uint64_t max_retries = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::uint16_t> stop_on_close_codes{1008, 4401, 4403};

  bool operator==(const reconnect_config&) const = default;
};

struct session_config {
  std::vector<ws_url> urls;  // parsed by lib/options.js, assembled by the binding
  std::vector<std::optional<proxy_config>> proxies;  // per URL: the HTTP proxy to tunnel through, if any
  std::uint32_t follow_redirects = 0;  // 3xx answers one attempt may follow (0: a 3xx is terminal)
  std::vector<std::string> protocols;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint32_t connect_timeout_ms = 10000;
  std::uint64_t max_message_size = 16u << 20;
  bool per_message_deflate = false;
  tls_config tls;
  heartbeat_config heartbeat;
  reconnect_config reconnect;
  resume_config resume;
  outbox_config outbox;

  bool operator==(const session_config&) const = default;
};

}  // namespace rws
