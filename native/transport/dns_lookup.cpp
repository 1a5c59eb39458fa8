#include "transport/dns_lookup.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/thread_identity.hpp"

namespace rws {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// Where lookup threads post their results. The io_context's services are shut down before it is
// destroyed; this one closes the gate then, so no thread posts into a dying io_context.
class lookup_gate_service : public asio::execution_context::service {
 public:
  using key_type = lookup_gate_service;
  static asio::execution_context::id id;

  explicit lookup_gate_service(asio::execution_context& owner)
      : service(owner), gate_(std::make_shared<gate>(static_cast<asio::io_context*>(&owner))) {}

  struct gate {
    explicit gate(asio::io_context* io) : io(io) {}
    std::mutex mutex;
    asio::io_context* io;  // null once the io_context shuts down
  };

  std::shared_ptr<gate> get() const { return gate_; }

 private:
  void shutdown() override {
    std::lock_guard lock(gate_->mutex);
    gate_->io = nullptr;
  }

  std::shared_ptr<gate> gate_;
};

asio::execution_context::id lookup_gate_service::id;

error_code lookup_error(int status, int saved_errno) {
  switch (status) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return asio::error::host_not_found;
    case EAI_AGAIN:
      return asio::error::host_not_found_try_again;
    case EAI_MEMORY:
      return asio::error::no_memory;
    case EAI_SYSTEM:
      return error_code(saved_errno, boost::system::system_category());
    default:
      return asio::error::no_recovery;
  }
}

// Runs on the lookup thread.
void lookup(const std::string& host, const std::string& port, error_code& ec, std::vector<tcp::endpoint>& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it hides ::1 on hosts without a global IPv6 address, and the connect race
  // (endpoint_race) moves past an address family that does not work within milliseconds anyway.
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (status != 0) {
    ec = lookup_error(status, errno);
    return;
  }
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), ai->ai_addr, std::min<std::size_t>(ai->ai_addrlen, endpoint.capacity()));
    out.push_back(endpoint);
  }
  ::freeaddrinfo(list);
  if (out.empty()) ec = asio::error::host_not_found;
}

}  // namespace

void async_lookup(asio::io_context& io, const std::string& host, const std::string& port, dns_handler handler) {
  error_code not_ip;
  auto address = asio::ip::make_address(host, not_ip);
  if (!not_ip) {
    auto port_number = static_cast<unsigned short>(std::strtoul(port.c_str(), nullptr, 10));
    std::vector<tcp::endpoint> one{tcp::endpoint(address, port_number)};
    asio::post(io, [h = std::move(handler), one = std::move(one)]() mutable { h({}, std::move(one)); });
    return;
  }
  auto gate = asio::use_service<lookup_gate_service>(io).get();
  auto job = [gate, host, port, handler]() mutable {
    set_own_scheduling(thread_policy::standard);  // not the io thread's (common/thread_identity.hpp)
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    lookup(host, port, ec, endpoints);
    std::lock_guard lock(gate->mutex);
    if (gate->io) {
      asio::post(*gate->io, [h = std::move(handler), ec, e = std::move(endpoints)]() mutable { h(ec, std::move(e)); });
    }
  };
  try {
    std::thread lookup_thread(std::move(job));
    set_thread_name(lookup_thread.native_handle(), "rws-dns");
    lookup_thread.detach();
  } catch (const std::system_error& e) {
    // No thread to be had (EAGAIN): report it as a failed lookup; the session backs off and retries.
    asio::post(io, [h = std::move(handler), ec = error_code(e.code().value(), boost::system::system_category())] {
      h(ec, {});
    });
  }
}

}  // namespace rws
