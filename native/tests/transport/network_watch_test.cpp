// rtnetlink decoding on crafted datagrams, and which changes concern which connection.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "transport/network_watch.hpp"

namespace rws {
namespace {

using boost::asio::ip::make_address;

// Appends one netlink message: header, fixed part, then attributes (type, bytes).
template <class Fixed>
void append(std::vector<std::byte>& out, std::uint16_t type, const Fixed& fixed,
            const std::vector<std::pair<std::uint16_t, std::vector<unsigned char>>>& attrs) {
  std::vector<unsigned char> body(NLMSG_ALIGN(sizeof(Fixed)));
  std::memcpy(body.data(), &fixed, sizeof(Fixed));
  for (const auto& [attr_type, bytes] : attrs) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(bytes.size())), attr_type};
    std::size_t at = body.size();
    body.resize(at + RTA_ALIGN(a.rta_len));
    std::memcpy(body.data() + at, &a, sizeof a);
    std::memcpy(body.data() + at + RTA_LENGTH(0), bytes.data(), bytes.size());
  }
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(body.size());
  h.nlmsg_type = type;
  std::size_t at = out.size();
  out.resize(at + NLMSG_ALIGN(h.nlmsg_len));
  std::memcpy(out.data() + at, &h, sizeof h);
  std::memcpy(out.data() + at + NLMSG_LENGTH(0), body.data(), body.size());
}

std::vector<unsigned char> v4(const char* text) {
  auto b = make_address(text).to_v4().to_bytes();
  return {b.begin(), b.end()};
}

TEST(NetworkWatch, DecodesAddressLinkAndRouteMessages) {
  std::vector<std::byte> d;
  ifaddrmsg addr{};
  addr.ifa_family = AF_INET;
  addr.ifa_index = 7;
  append(d, RTM_DELADDR, addr, {{IFA_ADDRESS, v4("10.0.0.5")}, {IFA_LOCAL, v4("10.0.0.5")}});
  ifinfomsg link{};
  link.ifi_index = 7;
  link.ifi_flags = 0;  // down
  append(d, RTM_NEWLINK, link, {});
  rtmsg route{};
  route.rtm_family = AF_INET;
  route.rtm_table = RT_TABLE_MAIN;
  route.rtm_type = RTN_UNICAST;
  route.rtm_dst_len = 16;
  append(d, RTM_DELROUTE, route, {{RTA_DST, v4("10.1.0.0")}});
  rtmsg local_route = route;
  local_route.rtm_table = RT_TABLE_LOCAL;  // comes with every address: ignored
  append(d, RTM_NEWROUTE, local_route, {{RTA_DST, v4("10.0.0.5")}});
  rtmsg default_route{};
  default_route.rtm_family = AF_INET;
  default_route.rtm_table = RT_TABLE_MAIN;
  default_route.rtm_type = RTN_UNICAST;
  append(d, RTM_NEWROUTE, default_route, {});

  auto changes = parse_rtnetlink(d);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].what, network_change::kind::address_removed);
  EXPECT_EQ(changes[0].address, make_address("10.0.0.5"));
  EXPECT_EQ(changes[0].interface_index, 7);
  EXPECT_EQ(changes[1].what, network_change::kind::link_down);
  EXPECT_EQ(changes[1].interface_index, 7);
  EXPECT_EQ(changes[2].what, network_change::kind::route_changed);
  EXPECT_EQ(changes[2].address, make_address("10.1.0.0"));
  EXPECT_EQ(changes[2].prefix_length, 16u);
  EXPECT_EQ(changes[3].what, network_change::kind::route_changed);
  EXPECT_EQ(changes[3].prefix_length, 0u);
}

TEST(NetworkWatch, TruncatedOrForeignBytesDecodeToNothing) {
  std::vector<std::byte> junk(7, std::byte{0xff});
  EXPECT_TRUE(parse_rtnetlink(junk).empty());
  std::vector<std::byte> d;
  ifaddrmsg addr{};
  addr.ifa_family = AF_INET;
  append(d, RTM_NEWADDR, addr, {{IFA_LOCAL, {1, 2}}});  // a 2-byte "address"
  EXPECT_TRUE(parse_rtnetlink(d).empty());
  d.resize(d.size() - 4);  // cut inside the message
  EXPECT_TRUE(parse_rtnetlink(d).empty());
}

TEST(NetworkWatch, WhichChangesConcernAConnection) {
  auto local = make_address("10.0.0.5");
  auto remote = make_address("10.1.2.3");
  using k = network_change::kind;
  EXPECT_TRUE((network_change{k::address_removed, 7, local, 0, {}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::address_removed, 7, make_address("10.0.0.6"), 0, {}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::address_added, 7, local, 0, {}}).affects(local, remote));
  // A link: by the addresses the watcher found on it.
  EXPECT_TRUE((network_change{k::link_down, 7, {}, 0, {make_address("fe80::1"), local}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::link_down, 8, {}, 0, {make_address("10.0.0.6")}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::link_down, 7, {}, 0, {}}).affects(local, remote));  // no addresses (gone)
  EXPECT_FALSE((network_change{k::link_up, 7, {}, 0, {local}}).affects(local, remote));
  EXPECT_TRUE((network_change{k::route_changed, 0, make_address("10.1.0.0"), 16, {}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::route_changed, 0, make_address("10.2.0.0"), 16, {}}).affects(local, remote));
  EXPECT_TRUE((network_change{k::route_changed, 0, make_address("0.0.0.0"), 0, {}}).affects(local, remote));
  EXPECT_FALSE((network_change{k::route_changed, 0, make_address("::"), 0, {}}).affects(local, remote));  // other family
  EXPECT_TRUE((network_change{k::route_changed, 0, make_address("10.1.2.0"), 23, {}}).affects(local, remote));
  EXPECT_TRUE((network_change{k::unknown, 0, {}, 0, {}}).affects(local, remote));
}

TEST(NetworkWatch, TheLoopbackInterfaceHoldsTheLoopbackAddress) {
  const auto loopback = addresses_of(static_cast<int>(if_nametoindex("lo")));
  EXPECT_NE(std::find(loopback.begin(), loopback.end(), make_address("127.0.0.1")), loopback.end());
  EXPECT_EQ(std::find(loopback.begin(), loopback.end(), make_address("192.0.2.123")), loopback.end());
  EXPECT_TRUE(addresses_of(0).empty());
  EXPECT_TRUE(addresses_of(1 << 30).empty());  // no such interface
}

}  // namespace
}  // namespace rws
