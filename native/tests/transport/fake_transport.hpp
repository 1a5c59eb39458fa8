#pragma once
// A transport with no socket, for unit tests of connection and session: the test plays the
// server through a fake_peer (bytes to the client, every byte the client wrote, errors to
// inject, writes held in flight) and drives a real io_context by hand (poll / run_one_for).
// Completions are posted, never run inside the call, as a real socket's are.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/frame_codec.hpp"
#include "protocol/handshake.hpp"
#include "transport/transport.hpp"

namespace rws::test {

struct fake_peer {
  explicit fake_peer(asio::io_context& io) : io(io) {}

  asio::io_context& io;
  std::string to_client;       // sent by the "server", not yet read by the client
  std::string from_client;     // every byte the client wrote, in order
  std::size_t writes = 0;      // async_write calls
  error_code read_end;         // once to_client is drained: the read completes with this (eof...)
  error_code secure_error;     // the TLS handshake's result
  std::string verify_failure;  // with secure_error: why the certificate was refused
  error_code write_error;      // every write fails with this
  bool hold_writes = false;    // writes stay in flight until release_writes()
  bool closed = false;         // the client closed the transport
  bool gathers = true;         // gathers_writes(): false plays a TLS stream
  bool readiness = false;      // reads_on_readiness(): true plays plain TCP (wait, then read_now)
  std::size_t reads_now = 0;   // read_now calls (readiness)
  std::size_t waits = 0;       // async_wait_readable calls (readiness)
  int direct_fd = -1;          // direct_write_fd(): a descriptor JavaScript's direct writes go to
  std::vector<const void*> write_buffer_starts;  // where each buffer of every write began

  // The pending read, if any.
  std::optional<asio::mutable_buffer> read_buffer;
  io_handler read_handler;
  done_handler wait_handler;  // the pending wait for readability (readiness), if any
  std::vector<std::pair<io_handler, std::size_t>> held;

  // The server sends bytes.
  void send(std::string_view bytes) {
    to_client.append(bytes);
    complete_read();
  }
  // The server's side ends (eof by default).
  void end(error_code ec = asio::error::eof) {
    read_end = ec;
    complete_read();
  }
  void release_writes() {
    auto pending = std::move(held);
    held.clear();
    for (auto& [handler, n] : pending) asio::post(io, [h = std::move(handler), n = n] { h({}, n); });
  }

  // Readability with nothing to read (a wake-up for bytes an earlier read already took).
  void wake_without_bytes() {
    if (!wait_handler) return;
    asio::post(io, [h = std::move(wait_handler)] { h({}); });
    wait_handler = nullptr;
  }

  void complete_read() {
    if (wait_handler && (!to_client.empty() || read_end)) {
      asio::post(io, [h = std::move(wait_handler)] { h({}); });
      wait_handler = nullptr;
    }
    if (!read_handler || (to_client.empty() && !read_end)) return;
    auto handler = std::move(read_handler);
    read_handler = nullptr;
    std::size_t n = std::min(read_buffer->size(), to_client.size());
    std::memcpy(read_buffer->data(), to_client.data(), n);
    to_client.erase(0, n);
    error_code ec = n ? error_code{} : read_end;
    asio::post(io, [handler = std::move(handler), ec, n] { handler(ec, n); });
  }
};

class fake_transport : public transport {
 public:
  fake_transport(asio::io_context& io, std::shared_ptr<fake_peer> peer) : socket_(io), peer_(std::move(peer)) {}

  io_socket& socket() override { return socket_; }  // never opened: available() reads 0
  void async_secure(done_handler handler) override {
    asio::post(peer_->io, [handler = std::move(handler), ec = peer_->secure_error] { handler(ec); });
  }
  void async_read_some(asio::mutable_buffer buffer, io_handler handler) override {
    peer_->read_buffer = buffer;
    peer_->read_handler = std::move(handler);
    if (peer_->closed) return abort_pending();
    peer_->complete_read();
  }
  void async_write(const std::vector<asio::const_buffer>& buffers, io_handler handler) override {
    std::size_t n = 0;
    for (const auto& b : buffers) {
      peer_->write_buffer_starts.push_back(b.data());
      peer_->from_client.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    ++peer_->writes;
    if (peer_->write_error || peer_->closed) {
      auto ec = peer_->closed ? error_code(asio::error::operation_aborted) : peer_->write_error;
      asio::post(peer_->io, [handler = std::move(handler), ec] { handler(ec, 0); });
    } else if (peer_->hold_writes) {
      peer_->held.emplace_back(std::move(handler), n);
    } else {
      asio::post(peer_->io, [handler = std::move(handler), n] { handler({}, n); });
    }
  }
  bool gathers_writes() const override { return peer_->gathers; }
  bool reads_on_readiness() const override { return peer_->readiness; }
  int direct_write_fd() override { return peer_->direct_fd; }
  void async_wait_readable(done_handler handler) override {
    ++peer_->waits;
    peer_->wait_handler = std::move(handler);
    if (peer_->closed) return abort_pending();
    peer_->complete_read();
  }
  std::size_t read_now(asio::mutable_buffer buffer, error_code& ec) override {
    ++peer_->reads_now;
    if (peer_->to_client.empty()) {
      ec = peer_->read_end ? peer_->read_end : error_code(asio::error::would_block);
      return 0;
    }
    std::size_t n = std::min(buffer.size(), peer_->to_client.size());
    std::memcpy(buffer.data(), peer_->to_client.data(), n);
    peer_->to_client.erase(0, n);
    ec = {};
    return n;
  }
  std::string verify_failure() const override { return peer_->verify_failure; }
  void close() override {
    peer_->closed = true;
    abort_pending();
  }

 private:
  // As a closed socket does: what was pending completes with operation_aborted.
  void abort_pending() {
    if (peer_->wait_handler) {
      asio::post(peer_->io, [h = std::move(peer_->wait_handler)] { h(asio::error::operation_aborted); });
      peer_->wait_handler = nullptr;
    }
    if (peer_->read_handler) {
      auto h = std::move(peer_->read_handler);
      peer_->read_handler = nullptr;
      asio::post(peer_->io, [h = std::move(h)] { h(asio::error::operation_aborted, 0); });
    }
    for (auto& [h, n] : peer_->held) {
      asio::post(peer_->io, [h = std::move(h)] { h(asio::error::operation_aborted, 0); });
    }
    peer_->held.clear();
  }

  io_socket socket_;
  std::shared_ptr<fake_peer> peer_;
};

// --- the server's side of the protocol, for tests ---

// One unmasked server frame.
inline std::string server_frame(opcode op, std::string_view payload, bool fin = true, std::uint8_t rsv = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | static_cast<int>(op)));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() < 65536) {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xff));
  }
  f.append(payload);
  return f;
}

inline std::string server_close(std::uint16_t code, std::string_view reason = {}) {
  return server_frame(opcode::close, close_payload(code, reason));
}

// The bytes after the client's upgrade request, once it has been answered.
struct client_frame {
  opcode op;
  std::string payload;
};

// Decodes the client's (masked) frames from `bytes`; stops at an incomplete frame.
inline std::vector<client_frame> parse_client_frames(std::string_view bytes) {
  std::vector<client_frame> out;
  std::size_t i = 0;
  while (i + 2 <= bytes.size()) {
    auto b0 = static_cast<unsigned char>(bytes[i]), b1 = static_cast<unsigned char>(bytes[i + 1]);
    std::size_t len = b1 & 0x7f, at = i + 2;
    if (len == 126) {
      if (at + 2 > bytes.size()) break;
      len = (static_cast<unsigned char>(bytes[at]) << 8) | static_cast<unsigned char>(bytes[at + 1]);
      at += 2;
    } else if (len == 127) {
      if (at + 8 > bytes.size()) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | static_cast<unsigned char>(bytes[at + k]);
      at += 8;
    }
    if (!(b1 & 0x80) || at + 4 + len > bytes.size()) break;  // client frames are always masked
    const char* mask = bytes.data() + at;
    std::string payload(bytes.substr(at + 4, len));
    for (std::size_t k = 0; k < len; ++k) payload[k] = static_cast<char>(payload[k] ^ mask[k % 4]);
    out.push_back({static_cast<opcode>(b0 & 0x0f), std::move(payload)});
    i = at + 4 + len;
  }
  return out;
}

// The fake server's view of one connection: answers the upgrade, then reads client frames.
struct fake_server {
  std::shared_ptr<fake_peer> peer;
  std::size_t request_bytes = 0;  // the upgrade request's length in from_client

  bool has_request() const { return peer->from_client.find("\r\n\r\n") != std::string::npos; }
  std::string request() const { return peer->from_client.substr(0, peer->from_client.find("\r\n\r\n") + 4); }
  // Answers the upgrade with `status` (101: a valid acceptance) and extra header lines, and
  // optionally frames in the same segment.
  void answer(int status = 101, std::string_view extra_headers = {}, std::string_view then = {}) {
    std::string req = request();
    request_bytes = req.size();
    std::string response;
    if (status == 101) {
      auto pos = req.find("Sec-WebSocket-Key: ");
      std::string key = req.substr(pos + 19, req.find("\r\n", pos) - pos - 19);
      response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: " + websocket_accept(key) + "\r\n";
    } else {
      response = "HTTP/1.1 " + std::to_string(status) + " Nope\r\nContent-Length: 0\r\n";
    }
    response.append(extra_headers);
    response += "\r\n";
    response.append(then);
    peer->send(response);
  }
  std::vector<client_frame> frames() const {
    return parse_client_frames(std::string_view(peer->from_client).substr(request_bytes));
  }
};

// Runs `io` until `done()` or `limit` passes (timers are real: backoff, heartbeat).
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(5)) == 0 && io.stopped()) io.restart();
  }
  return true;
}

// Runs every handler that is ready now, and those they post, without waiting for timers.
inline void settle(asio::io_context& io) {
  for (int i = 0; i < 1000; ++i) {
    if (io.stopped()) io.restart();
    if (io.poll() == 0) return;
  }
}

}  // namespace rws::test
