#include "protocol/url.hpp"

#include <algorithm>
#include <cctype>

namespace rws {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(data[i])) << 16) | (std::uint32_t(std::uint8_t(data[i + 1])) << 8) |
             std::uint8_t(data[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += table[n & 63];
  }
  if (i < data.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(data[i])) << 16;
    if (i + 1 < data.size()) n |= std::uint32_t(std::uint8_t(data[i + 1])) << 8;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < data.size() ? table[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string redact_credentials(std::string_view url) {
  auto authority = url.find("://");
  authority = authority == std::string_view::npos ? 0 : authority + 3;
  auto end = url.find_first_of("/?#", authority);
  auto at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  return std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
}

std::string percent_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<ws_url> parse_ws_url(std::string_view text, std::string& error) {
  ws_url url;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    error = "must start with ws:// or wss://";
    return std::nullopt;
  }
  auto scheme = lower(text.substr(0, scheme_end));
  if (scheme == "wss" || scheme == "https") {
    url.tls = true;
  } else if (scheme != "ws" && scheme != "http") {
    error = "scheme must be ws:// or wss://";
    return std::nullopt;
  }
  auto rest = text.substr(scheme_end + 3);
  auto fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  url.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.target.front() == '?') url.target.insert(url.target.begin(), '/');

  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    url.basic_auth = base64_encode(percent_decode(authority.substr(0, at)));
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "has an unterminated IPv6 address";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "has garbage after the IPv6 address";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) {
    error = "has no host";
    return std::nullopt;
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      error = "has an invalid port";
      return std::nullopt;
    }
    url.port = std::string(port);
  } else {
    url.port = url.tls ? "443" : "80";
  }
  bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host_part = ipv6 ? "[" + url.host + "]" : url.host;
  bool default_port = url.port == (url.tls ? "443" : "80");
  url.host_header = default_port ? host_part : host_part + ":" + url.port;
  url.display = std::string(url.tls ? "wss://" : "ws://") + url.host_header + url.target;
  return url;
}

std::string with_query_param(std::string_view target, std::string_view name, std::string_view value) {
  std::string path(target.substr(0, target.find('?')));
  std::string query = target.find('?') == std::string_view::npos ? "" : std::string(target.substr(target.find('?') + 1));
  std::string kept;
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    auto amp = query.find('&', pos);
    auto part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto key = part.substr(0, part.find('='));
    if (!part.empty() && key != name) {
      if (!kept.empty()) kept += '&';
      kept += part;
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  if (!kept.empty()) kept += '&';
  kept += std::string(name) + "=" + percent_encode(value);
  return path + "?" + kept;
}

}  // namespace rws
