// For scripts/json-differential.js: reads lines "<dotted path, hex>\t<JSON text, hex>" from
// stdin (hex so every byte of a corpus entry reaches the core unchanged) and prints one line per
// input line: "none", or "<kind> <extracted text, hex>" with kind string/number/boolean/null.
// The script compares that with JSON.parse on the same text.
#include <iostream>
#include <string>

#include "resume/json_field.hpp"

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

const char* kind_name(rws::json_scalar::kind k) {
  switch (k) {
    case rws::json_scalar::kind::string: return "string";
    case rws::json_scalar::kind::number: return "number";
    case rws::json_scalar::kind::boolean: return "boolean";
    case rws::json_scalar::kind::null: return "null";
  }
  return "?";
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      std::cout << "none\n";
      continue;
    }
    const std::string path = from_hex(std::string_view(line).substr(0, tab));
    const std::string text = from_hex(std::string_view(line).substr(tab + 1));
    const auto found = rws::find_json_field(text, rws::split_dotted_path(path));
    if (!found) {
      std::cout << "none\n";
    } else {
      std::cout << kind_name(found->type) << ' ' << to_hex(found->text) << '\n';
    }
  }
  return 0;
}
