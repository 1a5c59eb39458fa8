#pragma once
// Happy Eyeballs v2 (RFC 8305 §4–5) for one connection attempt: the resolved addresses are put
// in order — IPv6 first, then alternating families — and tried one after another, the next one
// starting when the previous fails or after `stagger` (250 ms), whichever comes first, with the
// earlier attempts still running. The first TCP connection established wins; the others are
// closed. A dual-stack host whose IPv6 path silently drops SYNs therefore connects over IPv4
// after 250 ms instead of after the whole connect timeout.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "transport/io_socket.hpp"
#include "transport/io_timer.hpp"

namespace rws {

class endpoint_race : public std::enable_shared_from_this<endpoint_race> {
 public:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;
  // Called once: with the connected socket, or with the last error when every address failed.
  using handler = std::function<void(const error_code&, io_socket)>;

  static constexpr std::chrono::milliseconds default_stagger{250};

  endpoint_race(boost::asio::io_context& io, std::vector<tcp::endpoint> endpoints, handler on_done,
                std::chrono::milliseconds stagger = default_stagger);

  void start();
  // Closes every attempt; the handler is not called afterwards.
  void cancel();

  // RFC 8305 §4: IPv6 first, then interleave the families (stable within a family).
  static std::vector<tcp::endpoint> interleave(std::vector<tcp::endpoint> endpoints);

 private:
  void start_next();
  void on_attempt(std::size_t index, const error_code& ec);
  void finish(const error_code& ec, io_socket* winner);

  boost::asio::io_context& io_;
  std::vector<tcp::endpoint> endpoints_;
  std::vector<std::unique_ptr<io_socket>> attempts_;  // one per started address
  std::size_t next_ = 0;
  std::size_t failed_ = 0;
  error_code last_error_;
  io_timer stagger_timer_;
  std::chrono::milliseconds stagger_;
  handler on_done_;  // empty once finished or cancelled
};

}  // namespace rws
