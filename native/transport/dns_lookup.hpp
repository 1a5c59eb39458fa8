#pragma once
// Host name lookups that nothing ever waits for. Asio's resolver runs getaddrinfo() on one
// private thread per io_context and joins it when the io_context is destroyed, so process exit,
// worker termination and closing the last socket could hang for a DNS timeout (tens of seconds),
// and one socket's slow lookup delayed every other socket's. Here each lookup gets a detached
// thread of its own; when the lookup ends, the result is posted to the io thread, unless the
// io_context is already shutting down, in which case it is dropped.
//
// A socket that asks for a host and port whose lookup another socket started moments ago waits
// for that answer instead of starting its own: when a server restarts under a fleet of sockets
// they all reconnect within moments, and each would otherwise start a thread and send the
// resolver the same query. Only a lookup younger than join_window, and than the asker's own
// patience (its connect timeout), is joined: an older one may be stuck on a query nobody
// answers, which a fresh lookup could get past, and a socket must never end up waiting, attempt
// after attempt, for a lookup that outlived its own deadline.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rws {

using dns_handler =
    std::function<void(const boost::system::error_code&, std::vector<boost::asio::ip::tcp::endpoint>)>;

// How recent a lookup of the same host and port must be for a new one to wait for its answer.
inline constexpr std::chrono::milliseconds join_window{1000};

// Looks up `host` (an IP literal is answered without a thread) and calls `handler` on the io
// thread. `patience`: how long the caller waits for an answer (see above). The handler must not
// own anything that has to be destroyed on the io thread: if the io_context goes away first, the
// handler is destroyed on the lookup thread without being called. Hold a weak_ptr and lock it
// inside. Call on the io thread (or before it runs).
void async_lookup(boost::asio::io_context& io, const std::string& host, const std::string& port,
                  std::chrono::milliseconds patience, dns_handler handler);

// Lookups (threads) started on this io_context so far: for tests.
std::uint64_t lookups_started(boost::asio::io_context& io);

}  // namespace rws
