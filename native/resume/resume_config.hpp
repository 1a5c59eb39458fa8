#pragma once
// Resume settings, validated and defaulted by lib/options.js.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rws {

enum class resume_via : std::uint8_t { query, header, message };

struct resume_config {
  bool enabled = false;
  std::vector<std::string> id_path{"id"};
  resume_via via = resume_via::query;
  std::string param = "after";
  std::size_t window = 10000;
};

}  // namespace rws
