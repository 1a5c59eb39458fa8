#pragma once
// Resume settings, validated and defaulted by lib/options.js.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "resume/json_field.hpp"

namespace rws {

enum class resume_via : std::uint8_t { query, header, message };

struct resume_config {
  bool enabled = false;
  std::vector<std::string> id_path{"id"};
  resume_via via = resume_via::query;
  std::string param = "after";
  std::size_t window = 10000;
  // Recognises the server's "I cannot replay from your position" message (the companion's
  // {"type":"reset",…}); empty: none. It is still delivered; diagnostics learn of it.
  std::vector<json_match_rule> reset_match;

  bool operator==(const resume_config&) const = default;
};

}  // namespace rws
