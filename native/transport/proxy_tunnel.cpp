#include "transport/proxy_tunnel.hpp"

#include <boost/asio/write.hpp>

#include "protocol/handshake.hpp"

namespace rws {
namespace {

constexpr std::size_t max_answer_bytes = 16 * 1024;

}  // namespace

proxy_tunnel::proxy_tunnel(io_socket& socket, const proxy_config& proxy, std::string authority)
    : socket_(socket), proxy_(proxy), authority_(std::move(authority)) {}

void proxy_tunnel::start(handler on_done) {
  on_done_ = std::move(on_done);
  std::string error;
  auto request = make_connect_request(authority_, proxy_.authorization, error);
  if (!request) {
    done(make_failure(failure_code::invalid_option, "cannot ask the proxy " + proxy_.display + " for a tunnel: " + error));
    return;
  }
  buffer_ = std::move(*request);
  boost::asio::async_write(socket_, boost::asio::buffer(buffer_),
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             self->on_written(ec);
                           });
}

void proxy_tunnel::on_written(const boost::system::error_code& ec) {
  if (ec) {
    done(make_failure(failure_code::proxy, "the proxy " + proxy_.display + " hung up: " + ec.message()));
    return;
  }
  buffer_.assign(max_answer_bytes, '\0');
  received_ = 0;
  read_more();
}

void proxy_tunnel::read_more() {
  // One byte at a time would be wasteful, and reading past the head would swallow bytes of the
  // tunnel — but the server speaks only after our TLS hello or upgrade request, so nothing can
  // follow the proxy's answer yet; anything that does is a broken proxy.
  socket_.async_read_some(boost::asio::buffer(buffer_.data() + received_, buffer_.size() - received_),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void proxy_tunnel::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (!on_done_) return;
  if (ec) {
    done(make_failure(failure_code::proxy, "the proxy " + proxy_.display + " closed the connection before answering " +
                                                "CONNECT: " + ec.message()));
    return;
  }
  received_ += n;
  upgrade_response answer;
  std::string error;
  auto status = parse_upgrade_response(std::string_view(buffer_.data(), received_), answer, error);
  if (status == parse_status::incomplete) {
    if (received_ < buffer_.size()) {
      read_more();
      return;
    }
    status = parse_status::malformed;
    error = "its answer's head exceeds 16 KiB";
  }
  if (status == parse_status::malformed) {
    done(make_failure(failure_code::proxy, "the proxy " + proxy_.display + " answered CONNECT with something "
                                                                           "that is not HTTP: " + error));
    return;
  }
  // 407 is the proxy's "credentials, please"; some proxies (tinyproxy) answer wrong credentials
  // with 401. Either way retrying cannot help until someone fixes the proxy URL.
  if (answer.status == 407 || answer.status == 401) {
    done(make_failure(failure_code::proxy_auth,
                       "the proxy " + proxy_.display + " refused the credentials (" + std::to_string(answer.status) +
                           " " + answer.status_text +
                           "): give the right ones in the proxy URL (http://user:password@host:port); not retrying",
                       answer.status));
    return;
  }
  if (answer.status < 200 || answer.status > 299) {
    done(make_failure(failure_code::proxy, "the proxy " + proxy_.display + " refused a tunnel to " + authority_ + " (" +
                                                std::to_string(answer.status) + " " + answer.status_text + ")",
                       answer.status));
    return;
  }
  if (answer.header_bytes != received_) {
    done(make_failure(failure_code::proxy, "the proxy " + proxy_.display +
                                                " sent bytes after its CONNECT answer, before the server could speak"));
    return;
  }
  done({});
}

void proxy_tunnel::done(failure f) {
  auto on_done = std::move(on_done_);
  on_done_ = nullptr;
  buffer_.clear();
  buffer_.shrink_to_fit();
  if (on_done) on_done(std::move(f));
}

}  // namespace rws
