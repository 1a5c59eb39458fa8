#pragma once
// Heartbeat settings, validated and defaulted by lib/options.js.
#include <cstdint>
#include <string>

namespace rws {

struct heartbeat_config {
  bool enabled = true;
  std::uint32_t interval_ms = 15000;
  std::uint32_t timeout_ms = 5000;
  bool message_mode = false;  // false: ping frames; true: an application text message
  std::string message = "ping";
  std::string pong = "pong";

  bool operator==(const heartbeat_config&) const = default;
};

}  // namespace rws
