#include "transport/network_watch.hpp"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstring>
#include <algorithm>
#include <vector>

namespace rws {
namespace {

namespace asio = boost::asio;
using asio::ip::address;

address address_from(int family, const void* bytes, std::size_t size) {
  if (family == AF_INET && size >= 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), bytes, 4);
    return asio::ip::address_v4(b);
  }
  if (family == AF_INET6 && size >= 16) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), bytes, 16);
    return asio::ip::address_v6(b);
  }
  return {};
}

bool in_prefix(const address& a, const address& network, unsigned length) {
  if (a.is_v4() != network.is_v4()) return false;
  auto prefix_bytes = [](const auto& x, const auto& y, unsigned bits) {
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
      unsigned mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
  };
  if (a.is_v4()) return prefix_bytes(a.to_v4().to_bytes(), network.to_v4().to_bytes(), length);
  return prefix_bytes(a.to_v6().to_bytes(), network.to_v6().to_bytes(), length);
}

// The per-io_context watcher: one netlink socket, opened by the first subscriber.
class watch_service : public asio::execution_context::service {
 public:
  using key_type = watch_service;
  static asio::execution_context::id id;

  struct subscriber {
    std::uint64_t token;
    std::weak_ptr<network_listener> listener;
  };
  struct state {
    std::vector<subscriber> subscribers;  // in token order: appended, erased in place
    std::uint64_t next_token = 1;
    // The subscriber with `token`, or end(): binary search, not a scan per socket when
    // thousands drop together (an outage).
    std::vector<subscriber>::iterator find(std::uint64_t token) {
      auto at = std::lower_bound(subscribers.begin(), subscribers.end(), token,
                                 [](const subscriber& s, std::uint64_t t) { return s.token < t; });
      return at != subscribers.end() && at->token == token ? at : subscribers.end();
    }
  };

  explicit watch_service(asio::execution_context& owner)
      : service(owner), io_(static_cast<asio::io_context&>(owner)), state_(std::make_shared<state>()) {}

  state& subscriptions() { return *state_; }

  std::shared_ptr<state> start() {
    if (failed_) return nullptr;
    if (descriptor_) return state_;
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      if (fd >= 0) ::close(fd);
      failed_ = true;
      return nullptr;
    }
    descriptor_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
    wait();
    return state_;
  }

 private:
  void shutdown() override {
    descriptor_.reset();
    state_->subscribers.clear();
  }

  void wait() {
    descriptor_->async_wait(asio::posix::descriptor_base::wait_read, [this, alive = state_](const boost::system::error_code& ec) {
      if (ec || !descriptor_) return;
      drain();
      wait();
    });
  }

  void drain() {
    std::array<std::byte, 16384> buffer;
    for (;;) {
      ssize_t n = ::recv(descriptor_->native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0 && errno == ENOBUFS) {
        // The kernel dropped messages we were too slow for: something changed, we do not know
        // what, so every connection should check its path.
        dispatch({network_change{network_change::kind::unknown, 0, {}, 0, {}}});
        continue;
      }
      if (n <= 0) return;
      if (state_->subscribers.empty()) continue;  // nobody to tell: read off the socket, not decoded
      auto changes = parse_rtnetlink(std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n)));
      // Which connections a link concerns is decided by its addresses, read now, once for all
      // of them. An IPv4 address stays on a link that went down (the usual case: carrier lost);
      // one removed with it, or the interface itself, is reported as an address_removed too.
      for (auto& change : changes) {
        if (change.what == network_change::kind::link_down) {
          change.interface_addresses = addresses_of(change.interface_index);
        }
      }
      dispatch(changes);
    }
  }

  void dispatch(const std::vector<network_change>& changes) {
    if (changes.empty()) return;
    // A copy: a callback may unsubscribe (its connection ends) while we iterate.
    auto subscribers = state_->subscribers;
    for (const auto& change : changes) {
      for (const auto& s : subscribers) {
        if (state_->find(s.token) == state_->subscribers.end()) continue;
        if (auto listener = s.listener.lock()) listener->on_network_change(change);
      }
    }
    // Listeners that died without unwatching (none should) go now.
    std::erase_if(state_->subscribers, [](const subscriber& s) { return s.listener.expired(); });
  }

  asio::io_context& io_;
  std::shared_ptr<state> state_;
  std::unique_ptr<asio::posix::stream_descriptor> descriptor_;
  bool failed_ = false;
};

asio::execution_context::id watch_service::id;

}  // namespace

bool network_change::affects(const boost::asio::ip::address& local, const boost::asio::ip::address& remote) const {
  switch (what) {
    case kind::address_removed:
      return address == local;
    case kind::link_down:
      return std::find(interface_addresses.begin(), interface_addresses.end(), local) != interface_addresses.end();
    case kind::route_changed:
      return in_prefix(remote, address, prefix_length);
    case kind::unknown:
      return true;
    default:
      return false;
  }
}

std::vector<network_change> parse_rtnetlink(std::span<const std::byte> datagram) {
  std::vector<network_change> out;
  const auto* data = reinterpret_cast<const unsigned char*>(datagram.data());
  int remaining = static_cast<int>(datagram.size());
  for (auto* header = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(header, remaining);
       header = NLMSG_NEXT(header, remaining)) {
    const auto type = header->nlmsg_type;
    if (type == RTM_NEWADDR || type == RTM_DELADDR) {
      if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
      const auto* msg = static_cast<const ifaddrmsg*>(NLMSG_DATA(header));
      int length = static_cast<int>(IFA_PAYLOAD(header));
      boost::asio::ip::address local, peer;
      for (auto* attr = IFA_RTA(msg); RTA_OK(attr, length); attr = RTA_NEXT(attr, length)) {
        if (attr->rta_type == IFA_LOCAL) local = address_from(msg->ifa_family, RTA_DATA(attr), RTA_PAYLOAD(attr));
        if (attr->rta_type == IFA_ADDRESS) peer = address_from(msg->ifa_family, RTA_DATA(attr), RTA_PAYLOAD(attr));
      }
      // IPv4 reports our own address as IFA_LOCAL (IFA_ADDRESS is the peer on point-to-point
      // links); IPv6 only sends IFA_ADDRESS.
      network_change change{type == RTM_DELADDR ? network_change::kind::address_removed
                                                : network_change::kind::address_added,
                            static_cast<int>(msg->ifa_index), local.is_unspecified() ? peer : local, 0, {}};
      if (!change.address.is_unspecified()) out.push_back(change);
    } else if (type == RTM_NEWLINK || type == RTM_DELLINK) {
      if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
      const auto* msg = static_cast<const ifinfomsg*>(NLMSG_DATA(header));
      bool up = type == RTM_NEWLINK && (msg->ifi_flags & IFF_UP) && (msg->ifi_flags & IFF_RUNNING);
      out.push_back({up ? network_change::kind::link_up : network_change::kind::link_down, msg->ifi_index, {}, 0, {}});
    } else if (type == RTM_NEWROUTE || type == RTM_DELROUTE) {
      if (header->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) continue;
      const auto* msg = static_cast<const rtmsg*>(NLMSG_DATA(header));
      // Only routes that carry traffic to other hosts: the main table's unicast routes (the
      // local table's entries come and go with every address and say nothing about paths).
      if (msg->rtm_table != RT_TABLE_MAIN || msg->rtm_type != RTN_UNICAST) continue;
      int length = static_cast<int>(RTM_PAYLOAD(header));
      network_change change{network_change::kind::route_changed, 0, {}, msg->rtm_dst_len, {}};
      for (auto* attr = RTM_RTA(msg); RTA_OK(attr, length); attr = RTA_NEXT(attr, length)) {
        if (attr->rta_type == RTA_DST) change.address = address_from(msg->rtm_family, RTA_DATA(attr), RTA_PAYLOAD(attr));
        if (attr->rta_type == RTA_OIF && RTA_PAYLOAD(attr) >= sizeof(int)) {
          std::memcpy(&change.interface_index, RTA_DATA(attr), sizeof(int));
        }
      }
      if (change.address.is_unspecified()) {
        // The default route of its family (0.0.0.0/0 or ::/0).
        change.address = msg->rtm_family == AF_INET6 ? boost::asio::ip::address(boost::asio::ip::address_v6())
                                                     : boost::asio::ip::address(boost::asio::ip::address_v4());
        change.prefix_length = 0;
      }
      out.push_back(change);
    }
  }
  return out;
}

std::vector<address> addresses_of(int interface_index) {
  std::vector<address> out;
  char name[IF_NAMESIZE];
  ifaddrs* list = nullptr;
  if (interface_index <= 0 || !::if_indextoname(static_cast<unsigned>(interface_index), name)) return out;
  if (::getifaddrs(&list) != 0) return out;
  const std::size_t name_length = std::strlen(name);
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    // An IPv4 address with a label ("ip addr add … label eth0:vip", as keepalived adds them) is
    // listed under its label: the interface's name, a colon and the rest.
    const bool on_interface = i->ifa_name && std::strncmp(i->ifa_name, name, name_length) == 0 &&
                              (i->ifa_name[name_length] == '\0' || i->ifa_name[name_length] == ':');
    if (!i->ifa_addr || !on_interface) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      out.push_back(address_from(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, 4));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      out.push_back(address_from(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16));
    }
  }
  ::freeifaddrs(list);
  return out;
}

std::uint64_t watch_network(asio::io_context& io, std::weak_ptr<network_listener> listener) {
  auto state = asio::use_service<watch_service>(io).start();
  if (!state) return 0;
  const std::uint64_t token = state->next_token++;
  state->subscribers.push_back({token, std::move(listener)});
  return token;
}

void unwatch_network(asio::io_context& io, std::uint64_t token) {
  auto& subscriptions = asio::use_service<watch_service>(io).subscriptions();
  if (auto at = subscriptions.find(token); at != subscriptions.subscribers.end()) subscriptions.subscribers.erase(at);
}

}  // namespace rws
