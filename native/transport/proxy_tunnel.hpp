#pragma once
// The CONNECT exchange with an HTTP proxy, on a TCP socket that is connected to the proxy: the
// request goes out, the answer's head is read (at most 16 KiB), and a 2xx leaves the socket as
// a tunnel to the server — TLS and the WebSocket upgrade then run through it as if connected
// directly. One object per attempt; the connection owns it and the socket.
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/failure.hpp"
#include "transport/io_socket.hpp"

namespace rws {

// Where the proxy is and how to authenticate to it (lib/proxy.js decides, per URL).
struct proxy_config {
  std::string host;           // IPv6 without brackets
  std::string port;
  std::string authorization;  // the whole Proxy-Authorization value ("Basic …"), or empty
  std::string display;        // the proxy URL without credentials, for messages

  bool operator==(const proxy_config&) const = default;
};

class proxy_tunnel : public std::enable_shared_from_this<proxy_tunnel> {
 public:
  // Called once: with no failure when the tunnel is open, or with ERR_PROXY_AUTH (407, or 401) /
  // ERR_PROXY (any other answer, a broken answer, or the proxy hanging up).
  using handler = std::function<void(failure)>;

  proxy_tunnel(io_socket& socket, const proxy_config& proxy, std::string authority);
  void start(handler on_done);

 private:
  void on_written(const boost::system::error_code& ec);
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void done(failure f);

  io_socket& socket_;
  proxy_config proxy_;
  std::string authority_;  // host:port of the server, the tunnel's far end
  std::string buffer_;     // the request until written, then the answer as it arrives
  std::size_t received_ = 0;
  handler on_done_;
};

}  // namespace rws
