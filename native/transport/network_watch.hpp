#pragma once
// Network changes, as Linux reports them over rtnetlink: an address removed or added, a link
// going down or up, a route added or removed. One watcher per io thread (an Asio service of the
// io_context, so nothing has to be passed around), started by the first subscriber; each open
// connection subscribes and decides whether a change concerns it (network_change::affects).
// On other systems, or where the netlink socket is refused, subscribing does nothing.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace rws {

struct network_change {
  // unknown: the kernel dropped notifications (we were too slow): any path may have changed.
  enum class kind : std::uint8_t { address_removed, address_added, link_down, link_up, route_changed, unknown };
  kind what;
  int interface_index = 0;
  boost::asio::ip::address address;  // address_*: the address; route_changed: the destination
  unsigned prefix_length = 0;        // route_changed: of the destination (0 with no address: default)
  // link_down: the addresses on that interface, read once per change by the watcher
  // (addresses_of) rather than by each connection as it opens, which cost a netlink dump
  // (getifaddrs, ~40 µs) per connection attempt.
  std::vector<boost::asio::ip::address> interface_addresses;

  // Whether a connection from `local` to `remote` may have lost its path: its own address went
  // away, its link went down, or a route covering `remote` changed. Additions and links coming
  // up do not break an existing path.
  bool affects(const boost::asio::ip::address& local, const boost::asio::ip::address& remote) const;
};

// Decodes the rtnetlink messages in one datagram (pure; unit-tested on crafted bytes).
std::vector<network_change> parse_rtnetlink(std::span<const std::byte> datagram);

// The addresses on the interface with this index (getifaddrs), none when it has none or is gone.
std::vector<boost::asio::ip::address> addresses_of(int interface_index);

// What a change is told to (a session: does it concern my connection?). Held weakly, and as a
// pointer rather than a std::function: every open socket has one entry (bench idle-5000: RSS).
class network_listener {
 public:
  virtual void on_network_change(const network_change& change) = 0;

 protected:
  ~network_listener() = default;
};

// Tells `listener`, on the io thread, of every change from now on while it lives, until
// unwatch_network(). Returns the subscription's token, or 0 where changes cannot be watched (not
// Linux, netlink refused): callers then rely on the heartbeat alone.
std::uint64_t watch_network(boost::asio::io_context& io, std::weak_ptr<network_listener> listener);
void unwatch_network(boost::asio::io_context& io, std::uint64_t token);

}  // namespace rws
