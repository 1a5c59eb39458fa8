#pragma once
// Outbox settings, validated and defaulted by lib/options.js.
#include <cstdint>
#include <string>
#include <vector>

#include "outbox/outbox_log.hpp"
#include "resume/json_field.hpp"

namespace rws {

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

  bool operator==(const outbox_config&) const = default;
};

}  // namespace rws
