// A connection whose permessage-deflate compressor fails (zlib out of memory, injected through
// connection_params::deflate_allocator) against a real loopback server speaking just enough
// RFC 6455 to accept the upgrade with permessage-deflate and read the client's first frame.
//
// Pins issue 8 item 7: connection::send ignored deflate()'s result, put an empty RSV1 frame on
// the wire and reported the message through on_written() as if it had been delivered. The message
// must instead fail the connection (close 1011) and never be reported as written.
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <string>
#include <vector>

#include "protocol/handshake.hpp"
#include "protocol/url.hpp"
#include "transport/connection.hpp"

namespace rws {
namespace {

struct recording_handler : connection_handler {
  std::shared_ptr<connection> conn;
  bool opened = false;
  std::vector<std::uint64_t> written;
  std::optional<close_info> closed;

  void on_open(const open_info& info) override {
    opened = true;
    EXPECT_TRUE(info.deflate);
    conn->send(false, std::string(4096, 'x'), 7);  // over the deflate threshold: compressed
    conn->flush();
  }
  bool on_inbound(std::vector<inbound_event>&) override { return true; }
  void on_written(std::uint64_t tag) override { written.push_back(tag); }
  void on_closed(close_info info) override { closed = std::move(info); }
};

// The first frame the client wrote after the upgrade, unmasked.
struct client_frame {
  unsigned char first_byte = 0;
  std::string payload;
};

TEST(ConnectionDeflate, ACompressionFailureFailsTheMessageInsteadOfReportingItWritten) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  io_socket server(io);
  asio::streambuf request;
  std::string response;
  unsigned char header[2 + 8 + 4];
  std::optional<client_frame> frame;

  // Server: accept, answer the upgrade with permessage-deflate, read one frame, hang up.
  acceptor.async_accept(server, [&](const error_code& ec) {
    ASSERT_FALSE(ec) << ec.message();
    asio::async_read_until(server, request, "\r\n\r\n", [&](const error_code& ec, std::size_t) {
      ASSERT_FALSE(ec) << ec.message();
      std::string head(asio::buffers_begin(request.data()), asio::buffers_end(request.data()));
      const auto at = head.find("Sec-WebSocket-Key: ");
      ASSERT_NE(at, std::string::npos) << head;
      const std::string key = head.substr(at + 19, 24);
      response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: " + websocket_accept(key) +
                 "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
      asio::async_write(server, asio::buffer(response), [&](const error_code& ec, std::size_t) {
        ASSERT_FALSE(ec) << ec.message();
        asio::async_read(server, asio::buffer(header, 2), [&](const error_code& ec, std::size_t) {
          ASSERT_FALSE(ec) << ec.message();
          const std::size_t len7 = header[1] & 0x7f;
          ASSERT_LT(len7, 126u) << "the test reads only short frames";
          auto body = std::make_shared<std::string>(4 + len7, '\0');
          asio::async_read(server, asio::buffer(*body), [&, body, len7](const error_code& ec, std::size_t) {
            ASSERT_FALSE(ec) << ec.message();
            client_frame f;
            f.first_byte = header[0];
            for (std::size_t i = 0; i < len7; ++i) f.payload.push_back(static_cast<char>((*body)[4 + i] ^ (*body)[i & 3]));
            frame = std::move(f);
            error_code ignored;
            server.close(ignored);
          });
        });
      });
    });
  });

  zlib_allocator out_of_memory;
  out_of_memory.alloc = [](void*, unsigned, unsigned) -> void* { return nullptr; };
  out_of_memory.release = [](void*, void*) {};
  connection_params params;
  params.url = make_ws_url(false, "127.0.0.1", acceptor.local_endpoint().port(), "/", "");
  params.target = "/";
  params.per_message_deflate = true;
  params.connect_timeout_ms = 5000;
  params.deflate_allocator = out_of_memory;

  recording_handler handler;
  handler.conn = std::make_shared<connection>(io, std::move(params), &handler);
  handler.conn->start();
  // Generous deadline; both the fixed and the broken code end well before it (the server hangs up
  // after the first frame).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((!handler.closed || !frame) && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
  handler.conn.reset();

  ASSERT_TRUE(handler.opened);
  ASSERT_TRUE(handler.closed) << "no on_closed within 10 s";
  EXPECT_TRUE(handler.written.empty()) << "the message that was never compressed was reported as written";
  ASSERT_TRUE(frame) << "the server saw no frame";
  EXPECT_EQ(frame->first_byte, 0x88) << "first frame should be a close, not a (compressed) data frame";
  ASSERT_GE(frame->payload.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(frame->payload[0]) << 8) | static_cast<unsigned char>(frame->payload[1]), 1011);
  EXPECT_EQ(handler.closed->code, 1011);
  EXPECT_EQ(handler.closed->error.code, failure_code::connection_lost);
  EXPECT_NE(handler.closed->error.message.find("zlib out of memory"), std::string::npos) << handler.closed->error.message;
}

}  // namespace
}  // namespace rws
