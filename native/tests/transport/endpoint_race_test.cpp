// Happy Eyeballs over real loopback sockets: ::1 refusing or silently dropping SYNs while
// 127.0.0.1 listens. A listener with a full accept queue drops further SYNs: a local blackhole.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "transport/endpoint_race.hpp"

namespace rws {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

const auto v6_loopback = asio::ip::make_address("::1");
const auto v4_loopback = asio::ip::make_address("127.0.0.1");

struct race_result {
  bool called = false;
  boost::system::error_code ec;
  std::optional<tcp::endpoint> peer;
  std::chrono::milliseconds took{0};
};

race_result run_race(asio::io_context& io, std::vector<tcp::endpoint> endpoints) {
  race_result result;
  auto started = clock_type::now();
  auto race = std::make_shared<endpoint_race>(io, std::move(endpoints),
                                              [&](const boost::system::error_code& ec, io_socket socket) {
                                                result.called = true;
                                                result.ec = ec;
                                                result.took = std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    clock_type::now() - started);
                                                boost::system::error_code ignored;
                                                if (!ec) result.peer = socket.remote_endpoint(ignored);
                                                io.stop();
                                              });
  race->start();
  io.run_for(std::chrono::seconds(10));
  io.restart();
  return result;
}

// A port with nothing listening on either loopback address.
unsigned short unused_port(asio::io_context& io) {
  tcp::acceptor a(io, tcp::endpoint(v4_loopback, 0));
  return a.local_endpoint().port();
}

TEST(EndpointRace, InterleavesFamiliesIpv6First) {
  auto e = [](const char* a) { return tcp::endpoint(asio::ip::make_address(a), 1); };
  auto order = endpoint_race::interleave({e("10.0.0.1"), e("10.0.0.2"), e("fd00::1"), e("10.0.0.3"), e("fd00::2")});
  std::vector<std::string> got;
  for (const auto& x : order) got.push_back(x.address().to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"fd00::1", "10.0.0.1", "fd00::2", "10.0.0.2", "10.0.0.3"}));
}

TEST(EndpointRace, RefusedIpv6FallsBackToIpv4AtOnce) {
  asio::io_context io;
  tcp::acceptor v4(io, tcp::endpoint(v4_loopback, 0));
  auto port = v4.local_endpoint().port();  // nothing on [::1]:port (v4-only listener)
  auto r = run_race(io, {tcp::endpoint(v4_loopback, port), tcp::endpoint(v6_loopback, port)});
  ASSERT_TRUE(r.called);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.peer->address(), v4_loopback);
  EXPECT_LT(r.took, std::chrono::milliseconds(200));  // no stagger wait after a refusal
}

TEST(EndpointRace, BlackholedIpv6LosesToIpv4AfterTheStagger) {
  asio::io_context io;
  // [::1] listener with backlog 0, its queue filled and never accepted: further SYNs vanish.
  tcp::acceptor v6(io, tcp::endpoint(v6_loopback, 0));
  v6.listen(0);
  auto port = v6.local_endpoint().port();
  std::vector<std::unique_ptr<io_socket>> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.push_back(std::make_unique<io_socket>(io));
    fillers.back()->async_connect(tcp::endpoint(v6_loopback, port), [](const boost::system::error_code&) {});
  }
  io.run_for(std::chrono::milliseconds(200));
  io.restart();
  tcp::acceptor v4(io, tcp::endpoint(v4_loopback, port));
  auto r = run_race(io, {tcp::endpoint(v4_loopback, port), tcp::endpoint(v6_loopback, port)});
  ASSERT_TRUE(r.called);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.peer->address(), v4_loopback);
  EXPECT_GE(r.took, std::chrono::milliseconds(240));
  EXPECT_LT(r.took, std::chrono::milliseconds(3000));
}

TEST(EndpointRace, EveryAddressRefusedReportsTheError) {
  asio::io_context io;
  auto port = unused_port(io);
  auto r = run_race(io, {tcp::endpoint(v4_loopback, port), tcp::endpoint(v6_loopback, port)});
  ASSERT_TRUE(r.called);
  EXPECT_EQ(r.ec, asio::error::connection_refused);
}

TEST(EndpointRace, NoAddressesIsAnError) {
  asio::io_context io;
  auto r = run_race(io, {});
  ASSERT_TRUE(r.called);
  EXPECT_TRUE(r.ec);
}

TEST(EndpointRace, CancelledRaceNeverCalls) {
  asio::io_context io;
  tcp::acceptor v4(io, tcp::endpoint(v4_loopback, 0));
  bool called = false;
  auto race = std::make_shared<endpoint_race>(io, std::vector<tcp::endpoint>{v4.local_endpoint()},
                                              [&](const boost::system::error_code&, io_socket) { called = true; });
  race->start();
  race->cancel();
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace rws
