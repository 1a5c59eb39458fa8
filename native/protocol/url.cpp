#include "protocol/url.hpp"

#include <cctype>

namespace rws {

ws_url make_ws_url(bool tls, std::string_view host, std::uint16_t port, std::string_view target,
                   std::string_view basic_auth) {
  ws_url url;
  url.tls = tls;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  url.host = std::string(host);
  const std::uint16_t default_port = tls ? 443 : 80;
  url.port = std::to_string(port == 0 ? default_port : port);
  url.target = target.empty() ? "/" : std::string(target);
  url.basic_auth = std::string(basic_auth);
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host_part = ipv6 ? "[" + url.host + "]" : url.host;
  url.host_header = port == 0 || port == default_port ? host_part : host_part + ":" + url.port;
  // lib/ passes a display text with query values masked; without one, the query is left out
  // entirely, since query strings carry tokens.
  url.display = std::string(tls ? "wss://" : "ws://") + url.host_header + url.target.substr(0, url.target.find('?'));
  return url;
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
