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
#include <unordered_map>

#include "common/thread_identity.hpp"

namespace rws {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// Where lookup threads post their results, and the lookups in flight. The io_context's services
// are shut down before it is destroyed; this one closes the gate then, so no thread posts into a
// dying io_context, and drops the waiters of lookups still running.
class lookup_service : public asio::execution_context::service {
 public:
  using key_type = lookup_service;
  static asio::execution_context::id id;

  explicit lookup_service(asio::execution_context& owner)
      : service(owner), gate_(std::make_shared<gate>(static_cast<asio::io_context*>(&owner))) {}

  struct gate {
    explicit gate(asio::io_context* io) : io(io) {}
    std::mutex mutex;
    asio::io_context* io;  // null once the io_context shuts down
  };
  // One lookup in flight and every handler waiting for its answer (io thread only; the lookup
  // thread only holds it, so that the waiters die with it if the answer cannot be posted).
  struct flight {
    std::chrono::steady_clock::time_point started;
    std::vector<dns_handler> waiters;
  };

  std::shared_ptr<gate> get() const { return gate_; }

  // io thread only: the newest lookup of each host and port ("host\0port") until it answers.
  std::unordered_map<std::string, std::shared_ptr<flight>> flights;
  std::uint64_t started = 0;

 private:
  void shutdown() override {
    {
      std::lock_guard lock(gate_->mutex);
      gate_->io = nullptr;
    }
    flights.clear();
  }

  std::shared_ptr<gate> gate_;
};

asio::execution_context::id lookup_service::id;

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

// On the io thread: the answer goes to every handler that waited for it.
void answer(asio::io_context& io, const std::string& key, const std::shared_ptr<lookup_service::flight>& done,
            const error_code& ec, std::vector<tcp::endpoint> endpoints) {
  auto& flights = asio::use_service<lookup_service>(io).flights;
  if (auto it = flights.find(key); it != flights.end() && it->second == done) flights.erase(it);
  auto waiters = std::move(done->waiters);
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    waiters[i](ec, i + 1 < waiters.size() ? endpoints : std::move(endpoints));
  }
}

}  // namespace

void async_lookup(asio::io_context& io, const std::string& host, const std::string& port,
                  std::chrono::milliseconds patience, dns_handler handler) {
  error_code not_ip;
  auto address = asio::ip::make_address(host, not_ip);
  if (!not_ip) {
    auto port_number = static_cast<unsigned short>(std::strtoul(port.c_str(), nullptr, 10));
    std::vector<tcp::endpoint> one{tcp::endpoint(address, port_number)};
    asio::post(io, [h = std::move(handler), one = std::move(one)]() mutable { h({}, std::move(one)); });
    return;
  }
  auto& service = asio::use_service<lookup_service>(io);
  std::string key = host + '\0' + port;
  const auto now = std::chrono::steady_clock::now();
  auto& current = service.flights[key];
  if (current && now - current->started < std::min(join_window, patience)) {
    current->waiters.push_back(std::move(handler));
    return;
  }
  current = std::make_shared<lookup_service::flight>();
  current->started = now;
  current->waiters.push_back(std::move(handler));
  ++service.started;
  auto job = [gate = service.get(), host, port, key, flight = current]() mutable {
    set_own_scheduling(thread_policy::standard);  // not the io thread's (common/thread_identity.hpp)
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
    lookup(host, port, ec, endpoints);
    std::lock_guard lock(gate->mutex);
    if (gate->io) {
      asio::post(*gate->io, [io = gate->io, key = std::move(key), flight = std::move(flight), ec,
                             e = std::move(endpoints)]() mutable { answer(*io, key, flight, ec, std::move(e)); });
    }
  };
  try {
    std::thread lookup_thread(std::move(job));
    set_thread_name(lookup_thread.native_handle(), "rws-dns");
    lookup_thread.detach();
  } catch (const std::system_error& e) {
    // No thread to be had (EAGAIN): report it as a failed lookup; the session backs off and retries.
    asio::post(io, [&io, key, flight = current, ec = error_code(e.code().value(), boost::system::system_category())] {
      answer(io, key, flight, ec, {});
    });
  }
}

std::uint64_t lookups_started(asio::io_context& io) { return asio::use_service<lookup_service>(io).started; }

}  // namespace rws
