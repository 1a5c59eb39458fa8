// The opening of one attempt: lookup → TCP (Happy Eyeballs) → CONNECT through a proxy → TLS →
// the WebSocket upgrade, all under the one connectTimeout. What follows the upgrade (frames,
// writes, the close handshake) is in connection.cpp.
#include <boost/asio/ssl/error.hpp>

#include "transport/connection.hpp"
#include "transport/dns_lookup.hpp"
#include "transport/read_scratch.hpp"

namespace rws {

void connection::start() {
  // One deadline covers the whole attempt: DNS + TCP + TLS + upgrade.
  arm_deadline(std::chrono::milliseconds(params().connect_timeout_ms));
  // With a proxy, the TCP connection goes to the proxy; the server is reached through its tunnel.
  const std::string& host = params().proxy ? params().proxy->host : params().url.host;
  const std::string& port = params().proxy ? params().proxy->port : params().url.port;
  // The lookup thread holds only a weak reference: it may outlive this connection and its io_context.
  async_lookup(io_, host, port, std::chrono::milliseconds(params().connect_timeout_ms),
               [weak = weak_from_this()](const error_code& ec, std::vector<tcp::endpoint> endpoints) {
                 if (auto self = weak.lock()) self->on_resolve(ec, endpoints);
               });
}

void connection::start_connected() {
  arm_deadline(std::chrono::milliseconds(params().connect_timeout_ms));
  on_connect({});
}

void connection::arm_deadline(steady_clock::duration after) {
  if (!timer_) timer_ = std::make_unique<io_timer>(io_);
  timer_->expires_after(after);
  timer_->async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->on_connect_timeout();
  });
}

void connection::on_connect_timeout() {
  if (phase_ == phase::connecting || phase_ == phase::upgrading) {
    fail_attempt(make_failure(failure_code::connect_timeout,
                              "no WebSocket connection to " + params().url.display + " within connectTimeout (" +
                                  std::to_string(params().connect_timeout_ms) + " ms)"));
  } else if (phase_ == phase::closing) {
    // The peer never finished the close handshake (or the close frame could not be flushed).
    closing().was_clean = false;
    finish(closing());
  }
}

void connection::on_resolve(const error_code& ec, const std::vector<tcp::endpoint>& results) {
  if (phase_ != phase::connecting) return;
  if (ec) {
    if (params().proxy) {
      fail_attempt(make_failure(failure_code::proxy, "cannot resolve the proxy host '" + params().proxy->host + "' of " +
                                                         params().proxy->display + ": " + ec.message()));
    } else {
      fail_attempt(make_failure(failure_code::dns, "cannot resolve host '" + params().url.host + "': " + ec.message()));
    }
    return;
  }
  opening_->race = std::make_shared<endpoint_race>(io_, results, [self = shared_from_this()](const error_code& ec, io_socket s) {
    if (!ec && self->phase_ == phase::connecting) self->transport_->socket() = std::move(s);
    self->on_connect(ec);
  });
  opening_->race->start();
}

void connection::on_connect(const error_code& ec) {
  if (phase_ != phase::connecting) return;
  if (ec) {
    if (params().proxy) {
      fail_attempt(make_failure(failure_code::proxy, "cannot connect to the proxy " + params().proxy->display + ": " +
                                                         ec.message()));
      return;
    }
    auto code = ec == asio::error::connection_refused ? failure_code::connection_refused
                                                      : failure_code::connection_lost;
    fail_attempt(make_failure(code, "cannot connect to " + params().url.display + ": " + ec.message()));
    return;
  }
  error_code ignored;
  transport_->socket().set_option(tcp::no_delay(true), ignored);
  if (params().proxy) {
    // The tunnel's far end: the server's host and port (an IPv6 host in brackets).
    const bool ipv6 = params().url.host.find(':') != std::string::npos;
    std::string authority = (ipv6 ? "[" + params().url.host + "]" : params().url.host) + ":" + params().url.port;
    opening_->tunnel = std::make_shared<proxy_tunnel>(transport_->socket(), *params().proxy, std::move(authority));
    opening_->tunnel->start([self = shared_from_this()](failure error) { self->on_tunnel(std::move(error)); });
    return;
  }
  transport_->async_secure([self = shared_from_this()](const error_code& ec) { self->on_secure(ec); });
}

void connection::on_tunnel(failure error) {
  opening_->tunnel.reset();
  if (phase_ != phase::connecting) return;
  if (error) {
    fail_attempt(std::move(error));
    return;
  }
  // Through the tunnel now: TLS (SNI and verification against the server, not the proxy) and the
  // upgrade run as on a direct connection.
  transport_->async_secure([self = shared_from_this()](const error_code& ec) { self->on_secure(ec); });
}

void connection::on_secure(const error_code& ec) {
  if (phase_ != phase::connecting) return;
  if (ec) {
    auto reason = transport_->verify_failure();
    if (!reason.empty()) {
      auto f = make_failure(failure_code::tls_verify, "TLS certificate of " + params().url.host +
                                                             " was refused: " + reason +
                                                             " (check tls.ca / tls.servername; never disable "
                                                             "verification in production)");
      f.reason = reason;
      fail_attempt(std::move(f));
    } else {
      fail_attempt(make_failure(failure_code::connection_lost, "TLS handshake with " + params().url.display +
                                                                      " failed: " + ec.message()));
    }
    return;
  }
  phase_ = phase::upgrading;
  std::string error;
  auto request = make_upgrade_request(params().url, params().target, params().headers, params().protocols,
                                      params().per_message_deflate ? permessage_deflate_offer() : std::string(), error);
  if (!request) {
    fail_attempt(make_failure(failure_code::invalid_option, "cannot send the upgrade request to " +
                                                                params().url.display + ": " + error));
    return;
  }
  // The request waits in the upgrade buffer until written; the response is read into it after.
  opening_->upgrade = upgrade_exchange{std::move(request->key), std::move(request->text)};
  transport_->async_write({asio::buffer(opening_->upgrade.buffer)}, [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->on_upgrade_written(ec);
  });
}

void connection::on_upgrade_written(const error_code& ec) {
  opening_->upgrade.buffer.clear();
  if (phase_ != phase::upgrading) return;
  if (ec) {
    fail_attempt(make_failure(failure_code::connection_lost, "sending the upgrade request failed: " + ec.message()));
    return;
  }
  read_upgrade_response();
}

void connection::read_upgrade_response() {
  if (transport_->reads_on_readiness()) {
    transport_->async_wait_readable([self = shared_from_this()](const error_code& ec) { self->on_upgrade_readable(ec); });
    return;
  }
  transport_->async_read_some(asio::buffer(read_buf().bytes), [self = shared_from_this()](const error_code& ec, std::size_t n) {
    self->on_upgrade_read(ec, self->read_buf_->bytes.data(), n, self->read_buf_->bytes.size());
  });
}

void connection::on_upgrade_readable(const error_code& ec) {
  if (phase_ != phase::upgrading) return;
  if (ec) {
    on_upgrade_read(ec, nullptr, 0, 0);
    return;
  }
  const scratch_read r = read_into_scratch();
  if (r.nothing) {
    read_upgrade_response();  // woken for nothing: wait again
    return;
  }
  on_upgrade_read(r.error, r.data, r.size, read_scratch::size);
}

// `asked`: the size of the read that gave `n` bytes (less means the socket was empty then).
void connection::on_upgrade_read(const error_code& ec, const char* data, std::size_t n, std::size_t asked) {
  if (phase_ != phase::upgrading) return;
  if (ec) {
    fail_attempt(make_failure(failure_code::connection_lost,
                              "the server closed the connection during the upgrade: " + ec.message()));
    return;
  }
  opening_->upgrade.buffer.append(data, n);
  upgrade_response response;
  std::string error;
  auto status = parse_upgrade_response(opening_->upgrade.buffer, response, error);
  if (status == parse_status::incomplete) {
    read_upgrade_response();
    return;
  }
  if (status == parse_status::malformed) {
    fail_attempt(make_failure(failure_code::protocol, error));
    return;
  }
  if (response.status != 101) {
    auto f = make_failure(failure_code::handshake_rejected,
                          "WebSocket handshake: " + std::to_string(response.status) + " " + response.status_text);
    f.status = response.status;
    f.headers = response.headers;
    f.retry_after_ms = parse_retry_after(response.header("retry-after"), std::chrono::system_clock::now());
    fail_attempt(std::move(f));
    return;
  }
  error = check_upgrade(response, opening_->upgrade.key, params().protocols, params().per_message_deflate);
  open_info opened;
  if (error.empty()) {
    auto extensions = response.header("sec-websocket-extensions");
    if (!extensions.empty()) {
      auto negotiated = parse_deflate_response(extensions, error);
      if (negotiated) {
        deflate_ = std::make_unique<permessage_deflate>(*negotiated, params().deflate_allocator);
        opened.deflate = true;
      }
    }
  }
  if (!error.empty()) {
    fail_attempt(make_failure(failure_code::protocol, error));
    return;
  }
  if (auto failed = transport_->opened()) {
    fail_attempt(make_failure(failure_code::connection_lost, "the socket failed after the handshake: " + failed.message()));
    return;
  }
  timer_.reset();  // cancels the connect deadline: an open connection keeps no timer
  phase_ = phase::open;
  if (lane_ && !deflate_) {
    // Compression keeps a context the JavaScript thread must not touch; TLS has no descriptor
    // to write to (direct_write_fd() is -1).
    if (int fd = transport_->direct_write_fd(); fd >= 0) lane_generation_ = lane_->open(fd);
  }
  opened.protocol = response.header("sec-websocket-protocol");
  last_inbound_ = steady_clock::now();
  std::string leftover = opening_->upgrade.buffer.substr(response.header_bytes);
  // The upgrade's buffer, the connect race (its timer, addresses and spent socket), the URL,
  // headers, TLS and proxy settings it connected with: an idle connection keeps none of them.
  opening_.reset();
  reads_on_readiness_ = transport_->reads_on_readiness();
  if (reads_on_readiness_) socket_drained_ = n < asked;  // by the upgrade's last read
  if (!leftover.empty()) {
    // Frames that arrived in the same segment as the 101 response.
    reading_ = true;
    asio::post(io_, [self = shared_from_this(), bytes = std::move(leftover)] {
      self->on_bytes({}, bytes.data(), bytes.size());
    });
  } else {
    read_more();
  }
  handler_->on_open(opened);  // last: see "Reports" in connection.hpp
}

}  // namespace rws
