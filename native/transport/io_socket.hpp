#pragma once
// A TCP socket bound to the io_context's own executor type instead of the type-erased
// any_io_executor of asio::ip::tcp::socket, for the reason io_timer.hpp gives: every operation
// the socket starts keeps a copy of its executor (a read, a write, the wait for readability an
// idle socket keeps pending for as long as it is idle), and an io_context executor is one
// pointer where any_io_executor is a type-erased object. Smaller operations and socket, per
// connection; and no type-erased dispatch on every completion.
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace rws {

using io_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

}  // namespace rws
