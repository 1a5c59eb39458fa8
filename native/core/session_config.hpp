#pragma once
// The clean, flat configuration a session runs on. lib/options.js validates and defaults every
// option; the binding copies the result into this struct, so the core never sees bad input.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/backoff.hpp"
#include "core/json_field.hpp"
#include "core/outbox_log.hpp"

namespace rws {

struct tls_config {
  std::string ca;          // PEM; empty = system trust store
  std::string cert;        // client certificate (PEM), optional
  std::string key;         // client key (PEM), optional
  std::string passphrase;
  std::string servername;  // SNI and verification name; empty = the URL's host
  bool reject_unauthorized = true;
};

struct heartbeat_config {
  bool enabled = true;
  std::uint32_t interval_ms = 15000;
  std::uint32_t timeout_ms = 5000;
  bool message_mode = false;  // false: ping frames; true: an application text message
  std::string message = "ping";
  std::string pong = "pong";
};

struct reconnect_config {
  bool enabled = true;
  backoff_config curve;
  std::uint32_t stable_after_ms = 5000;
  std::uint64_t max_retries = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::uint16_t> stop_on_close_codes{1008, 4401, 4403};
};

enum class resume_via : std::uint8_t { query, header, message };

struct resume_config {
  bool enabled = false;
  std::vector<std::string> id_path{"id"};
  resume_via via = resume_via::query;
  std::string param = "after";
  std::size_t window = 10000;
};

enum class delivery_guarantee : std::uint8_t { written, acked };

struct outbox_config {
  std::string path;  // empty: in memory
  fsync_policy fsync = fsync_policy::batch;
  std::uint64_t max_messages = 10000;
  std::uint64_t max_bytes = 16u << 20;
  bool drop_oldest = false;
  delivery_guarantee guarantee = delivery_guarantee::written;
  std::vector<std::string> ack_key_path{"key"};
  std::vector<json_match_rule> ack_match;
  std::string key_field;  // empty: keys are not written into outgoing JSON
};

struct session_config {
  std::vector<std::string> urls;
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
};

}  // namespace rws
