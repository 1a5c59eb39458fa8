// Lookups answer on the io thread, never block it, and fail with a lookup error (ERR_DNS upstream).
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "transport/dns_lookup.hpp"

namespace rws {
namespace {

using boost::asio::ip::tcp;

struct outcome {
  bool called = false;
  boost::system::error_code ec;
  std::vector<tcp::endpoint> endpoints;
};

outcome run_lookup(const std::string& host, const std::string& port) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);  // the answer comes from another thread
  outcome result;
  async_lookup(io, host, port, join_window, [&](const boost::system::error_code& ec, std::vector<tcp::endpoint> endpoints) {
    result = {true, ec, std::move(endpoints)};
    io.stop();
  });
  io.run_for(std::chrono::seconds(20));
  return result;
}

TEST(DnsLookup, IpLiteralsAnswerWithTheAddress) {
  auto v4 = run_lookup("127.0.0.1", "8080");
  ASSERT_TRUE(v4.called);
  EXPECT_FALSE(v4.ec);
  ASSERT_EQ(v4.endpoints.size(), 1u);
  EXPECT_EQ(v4.endpoints[0], tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 8080));
  auto v6 = run_lookup("::1", "443");
  ASSERT_TRUE(v6.called);
  ASSERT_EQ(v6.endpoints.size(), 1u);
  EXPECT_TRUE(v6.endpoints[0].address().is_v6());
}

TEST(DnsLookup, NamesFromTheHostsFileResolve) {
  auto r = run_lookup("localhost", "80");
  ASSERT_TRUE(r.called);
  EXPECT_FALSE(r.ec) << r.ec.message();
  ASSERT_FALSE(r.endpoints.empty());
  for (const auto& e : r.endpoints) {
    EXPECT_TRUE(e.address().is_loopback());
    EXPECT_EQ(e.port(), 80);
  }
}

TEST(DnsLookup, AnUnknownNameIsAnError) {
  // .invalid never resolves (RFC 6761); without network the resolver fails fast either way.
  auto r = run_lookup("no-such-host.invalid", "80");
  ASSERT_TRUE(r.called);
  EXPECT_TRUE(r.ec);
  EXPECT_TRUE(r.endpoints.empty());
}

TEST(DnsLookup, DestroyingTheIoContextDropsAPendingAnswer) {
  // The answer arrives after its io_context is gone: it must be dropped, not posted, for the
  // socket that started the lookup and for one that joined it.
  {
    boost::asio::io_context io;
    for (int i = 0; i < 2; ++i) {
      async_lookup(io, "localhost", "80", join_window, [](const boost::system::error_code&, std::vector<tcp::endpoint>) {
        ADD_FAILURE() << "called after the io_context was destroyed";
      });
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the lookup thread finish
}

// Many sockets asking for one name at once (a fleet reconnecting after a server restart) share
// one lookup; another host or port, or a later ask, has its own.
TEST(DnsLookup, ConcurrentLookupsOfOneNameShareOneLookup) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<outcome> results(4);
  int answered = 0;
  auto record = [&](std::size_t i) {
    return [&, i](const boost::system::error_code& ec, std::vector<tcp::endpoint> endpoints) {
      results[i] = {true, ec, std::move(endpoints)};
      if (++answered == 4) io.stop();
    };
  };
  for (std::size_t i = 0; i < 3; ++i) async_lookup(io, "localhost", "80", join_window, record(i));
  async_lookup(io, "localhost", "81", join_window, record(3));
  EXPECT_EQ(lookups_started(io), 2u);
  io.run_for(std::chrono::seconds(20));
  ASSERT_EQ(answered, 4);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(results[i].ec) << results[i].ec.message();
    EXPECT_FALSE(results[i].endpoints.empty());
    EXPECT_EQ(results[i].endpoints, results[0].endpoints);
  }
  ASSERT_FALSE(results[3].endpoints.empty());
  EXPECT_EQ(results[3].endpoints[0].port(), 81);
  // Answered: the next ask is a lookup of its own.
  io.restart();
  bool again = false;
  async_lookup(io, "localhost", "80", join_window, [&](const boost::system::error_code&, std::vector<tcp::endpoint>) {
    again = true;
    io.stop();
  });
  EXPECT_EQ(lookups_started(io), 3u);
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(again);
}

// A lookup is joined only while it is younger than the asker's patience (its connect timeout):
// one that has run longer may be stuck, and the asker's attempt would time out waiting for it
// again and again. With no patience at all, every ask is a lookup of its own.
TEST(DnsLookup, ALookupOlderThanTheAskersPatienceIsNotJoined) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  int answered = 0;
  auto count = [&](const boost::system::error_code&, std::vector<tcp::endpoint>) {
    if (++answered == 2) io.stop();
  };
  async_lookup(io, "localhost", "80", join_window, count);
  async_lookup(io, "localhost", "80", std::chrono::milliseconds(0), count);
  EXPECT_EQ(lookups_started(io), 2u);
  io.run_for(std::chrono::seconds(20));
  EXPECT_EQ(answered, 2);
}

}  // namespace
}  // namespace rws
