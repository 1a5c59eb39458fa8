#pragma once
// One connection attempt: resolve → TCP → TLS (SNI + name verification) → WebSocket upgrade →
// read loop, plus the write queue. A fresh connection is built for every attempt; the session
// (session.hpp) outlives attempts and owns backoff, heartbeat policy, resume and the outbox.
//
// Threading: everything here runs on the io thread.
//
// Reports (one-way data path): the connection reports to its handler (on_open, on_inbound,
// on_written, on_closed) and the handler (the session) decides. The rule that keeps the two from
// tangling:
//   1. A step (a completion handler) first brings the connection's own state to where it stays:
//      control frames answered and flushed, the next write started, the next read armed, the
//      phase set. Only then does it report, and a report is the last thing the step does. The
//      only things after a report are further reports of the same step in their natural order
//      (the data of a read, then the end of the close exchange; what was written, then the end),
//      each guarded by the phase, never connection state that the report could have changed.
//   2. During a report the handler may call any public method (send, flush, close, fail, abort,
//      abandon, ping): the connection is consistent, and the call is a step of its own.
//   3. The connection never reports from inside a call the handler made; a failure noticed
//      there is reported from a later completion (close/fail end through the write or a timer).
//   4. The one exception to 1: on_inbound answers "pause reading", and that answer decides
//      whether the next read is armed, so on_bytes arms it after that report (if the phase is
//      still open or closing). Arming it before would read one more buffer past the memory bound.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame_codec.hpp"
#include "protocol/handshake.hpp"
#include "protocol/permessage_deflate.hpp"
#include "common/failure.hpp"
#include "common/shared_payload.hpp"
#include "transport/direct_lane.hpp"
#include "transport/endpoint_race.hpp"
#include "transport/io_timer.hpp"
#include "transport/mask_source.hpp"
#include "transport/proxy_tunnel.hpp"
#include "transport/transport.hpp"
#include "transport/write_queue.hpp"

namespace rws {

using steady_clock = std::chrono::steady_clock;

struct connection_params {
  ws_url url;
  std::string target;  // may differ from url.target (resume via query)
  header_list headers;
  std::vector<std::string> protocols;
  bool per_message_deflate = false;
  std::uint64_t max_message_size = 16u << 20;
  std::uint32_t connect_timeout_ms = 10000;
  std::shared_ptr<asio::ssl::context> tls_context;  // set for wss://
  tls_config tls;
  std::optional<proxy_config> proxy;  // set: tunnel through this HTTP proxy with CONNECT
  zlib_allocator deflate_allocator;  // default: zlib's own; tests inject failures through it
  // Set: while open over plain TCP without compression, the JavaScript thread may write to the
  // socket itself when the io thread is idle (transport/direct_lane.hpp).
  std::shared_ptr<direct_lane> lane;
};

struct open_info {
  std::string protocol;
  bool deflate = false;
};

struct close_info {
  int code = 1006;
  std::string reason;
  bool was_clean = false;
  bool opened = false;  // false: the attempt failed before the handshake completed
  failure error;        // set when the end was abnormal (or the attempt failed)
};

class connection_handler {
 public:
  virtual ~connection_handler() = default;
  virtual void on_open(const open_info& info) = 0;
  // Data messages and pongs parsed from one read, in order. Pings and closes are handled by the
  // connection. Returns false to pause reading until resume_reading() (backpressure; see rule 4).
  virtual bool on_inbound(std::vector<inbound_event>& events) = 0;
  // Every message queued with a tag <= `tag` has been handed to the kernel in full.
  virtual void on_written(std::uint64_t tag) = 0;
  // A write without a tagged message in it (a ping, a pong) ended and nothing else is queued.
  virtual void on_write_idle() {}
  // Exactly once per connection, unless abort() was called first.
  virtual void on_closed(close_info info) = 0;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  // `stream`: null in production (built from params: TCP or TLS); a test passes its fake
  // transport and calls start_connected().
  connection(asio::io_context& io, connection_params params, connection_handler* handler,
             std::unique_ptr<transport> stream = nullptr);
  ~connection();

  // Resolve → connect → secure → upgrade, bounded by connect_timeout_ms.
  void start();
  // For a transport given at construction, already connected: secure → upgrade (tests).
  void start_connected();
  // Queues one data message; a non-zero tag is reported through on_written(). Nothing is written
  // until flush(), so a batch of sends becomes one write; frames queued while a write is in
  // flight go out together in the next one.
  void send(bool binary, std::string_view payload, std::uint64_t tag);
  // The same for a message the outbox keeps: a large payload is masked in place and written from
  // the outbox's own memory (common/shared_payload.hpp) unless TLS or compression needs a copy.
  void send_shared(bool binary, const shared_payload& payload, std::uint64_t tag);
  void flush();
  // The rest of a frame the JavaScript thread began on this connection's socket (direct_lane):
  // written before anything else, `tag` reported as for send().
  void send_tail_first(std::string_view tail, std::uint64_t tag);
  void ping(std::string_view payload);
  // Starts the close handshake; on_closed() follows (bounded by a timer).
  void close(std::uint16_t code, std::string_view reason);
  // Ends the connection now with `code` (sent best-effort) and reports `error` via on_closed().
  void fail(std::uint16_t code, failure error);
  // Drops the connection without any further callback (session teardown).
  void abort();
  // Like abort(), but the peer is told first: `code` goes out best-effort before the socket
  // closes (bounded by a short timer; the connection keeps itself alive until then).
  void abandon(std::uint16_t code);
  void resume_reading();
  // Gives back the write queue, if nothing is being written now (the session calls it from the
  // heartbeat: a connection idle for an interval keeps no write state, however large a burst
  // grew it).
  void release_idle_buffers();

  bool is_open() const { return phase_ == phase::open; }
  // Nothing queued and no write in flight.
  bool write_idle() const { return !out_ || (!out_->queue.writing() && !out_->queue.has_pending()); }
  // The direct_lane generation this connection opened (0: none), and whether it still writes
  // (open, or closing: a frame JavaScript began must be finished before the close frame).
  std::uint64_t lane_generation() const { return lane_generation_; }
  bool still_writes() const { return phase_ == phase::open || phase_ == phase::closing; }
  // True while the kernel holds received bytes we have not read yet.
  bool has_pending_input() const {
    error_code ec;
    return transport_->available(ec) > 0;
  }
  std::uint64_t buffered_bytes() const { return out_ ? out_->queue.buffered_bytes() : 0; }
  // What an idle connection holds none of (tests check it): a write queue, a parser's state.
  bool holds_write_queue() const { return out_ != nullptr; }
  bool holds_parser() const { return parser_ != nullptr; }
  steady_clock::time_point last_inbound() const { return last_inbound_; }
  // The TCP path in use (the far end is the proxy when there is one), for network-change checks.
  tcp::endpoint local_endpoint() const {
    error_code ec;
    return transport_->local_endpoint(ec);
  }
  tcp::endpoint remote_endpoint() const {
    error_code ec;
    return transport_->remote_endpoint(ec);
  }

 private:
  enum class phase : std::uint8_t { connecting, upgrading, open, closing, closed };

  void on_resolve(const error_code& ec, const std::vector<tcp::endpoint>& results);
  void on_connect(const error_code& ec);
  void on_tunnel(failure error);
  void on_secure(const error_code& ec);
  void on_upgrade_written(const error_code& ec);
  void read_upgrade_response();                      // the next read of the server's answer
  void on_upgrade_readable(const error_code& ec);    // reads_on_readiness: read what is there
  void on_upgrade_read(const error_code& ec, const char* data, std::size_t n, std::size_t asked);
  void on_read(const error_code& ec, std::size_t n);      // an async_read_some into read_buf_ ended
  void wait_readable();                                    // reads_on_readiness: until bytes come
  void on_readable(const error_code& ec);                 // reads_on_readiness: read what is there
  // reads_on_readiness: one read of what the socket holds, into the io thread's read_scratch.
  struct scratch_read {
    char* data = nullptr;
    std::size_t size = 0;
    error_code error;
    bool nothing = false;  // would_block: the wake-up found nothing (wait again)
  };
  scratch_read read_into_scratch();
  void on_bytes(const error_code& ec, const char* data, std::size_t n);  // handles one read
  void on_write(const error_code& ec, std::size_t n);
  void on_connect_timeout();
  // The one deadline of each phase (connectTimeout, then the close exchange's): made when first
  // armed and dropped at open, so an idle open connection keeps no timer.
  void arm_deadline(steady_clock::duration after);
  void cancel_deadline() {
    if (timer_) timer_->cancel();
  }

  void read_more();
  bool handle_control(inbound_event& event);
  std::pair<parse_error, std::string> inflate_message(inbound_event& event);  // error + detail
  void violation(parse_error error, std::string detail);
  void queue_frame(opcode op, std::string_view payload);
  void fit_read_buffer(std::size_t last_read);  // grows or shrinks read_buf_ after a read
  void finish(close_info info);  // reports once and closes the socket
  void finish_later(close_info info);  // ends an attempt from a call: the report comes in a later step
  void fail_attempt(failure error);
  void end_after_close_exchange();
  void close_lane();  // before leaving `open` and before the socket closes

  asio::io_context& io_;
  // The upgrade's own state.
  struct upgrade_exchange {
    std::string key;     // Sec-WebSocket-Key, to check the answer's Sec-WebSocket-Accept
    std::string buffer;  // the request until written, then the response as it arrives
  };
  // What only connecting and the upgrade need, in one block dropped at open: a copy of the URL,
  // headers, TLS and proxy settings (~0.7 KB), the connect race, the proxy exchange and the
  // upgrade. An idle open connection keeps one null pointer for all of it, not four (bench
  // idle-5000: RSS). The message size limit lives on in max_message_size_.
  struct opening {
    connection_params params;
    std::shared_ptr<endpoint_race> race;    // the TCP connect (Happy Eyeballs) of this attempt
    std::shared_ptr<proxy_tunnel> tunnel;   // the CONNECT exchange, with a proxy
    upgrade_exchange upgrade;
  };
  std::unique_ptr<opening> opening_;
  const connection_params& params() const { return opening_->params; }  // until open
  connection_handler* handler_;  // null after abort(): no callbacks after that
  std::unique_ptr<transport> transport_;
  std::shared_ptr<direct_lane> lane_;  // see connection_params::lane
  std::uint64_t lane_generation_ = 0;  // the lane's generation this connection opened
  std::unique_ptr<io_timer> timer_;  // see arm_deadline()
  mask_source& masks_;                // this io thread's masking keys

  // The parser's state between reads, held only while a frame or message is unfinished (or the
  // stream ended): most reads end between frames, and then the next one parses with a new
  // parser from the io thread's read scratch. An idle connection keeps none (152 bytes).
  std::unique_ptr<frame_parser> parser_;
  std::uint64_t max_message_size_;
  std::unique_ptr<permessage_deflate> deflate_;  // negotiated: most connections have none
  // The reads of a transport that cannot read on readiness, made by its first read. The
  // library's own (plain TCP, TLS) can: they read into the io thread's read_scratch from the
  // handshake on and never make one (a buffer made at connect and dropped at open left a hole per
  // connection in the io thread's heap, between blocks an open connection keeps: bench
  // idle-5000). Behind a pointer: 8 bytes in every connection where the vector and its counter
  // took 32.
  struct own_read_buffer {
    std::vector<char> bytes;
    std::uint8_t small_reads = 0;  // reads in a row that a minimal buffer would have held (to 4)
  };
  std::unique_ptr<own_read_buffer> read_buf_;
  static constexpr std::size_t read_buffer_min = 1024;  // its size while reads are small
  own_read_buffer& read_buf() {
    if (!read_buf_) read_buf_ = std::make_unique<own_read_buffer>(own_read_buffer{std::vector<char>(read_buffer_min)});
    return *read_buf_;
  }
  bool reads_on_readiness_ = false;
  // The last read got less than it asked for, so the socket was empty then and any later bytes
  // signal readability; otherwise the next read goes ahead without waiting.
  bool socket_drained_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  // Beside the read flags, so they all pack into 8 bytes (each alone between pointers took 8).
  phase phase_ = phase::connecting;
  // It left `open` while the rest of a frame JavaScript began was on its way: nothing may follow
  // that half frame but its rest (send_tail_first), which a replaced connection never gets.
  bool writes_held_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  steady_clock::time_point last_inbound_;

  // What is on its way out: made by the first frame queued, dropped when a write leaves it empty
  // with small buffers, or by release_idle_buffers(). Most connections are idle most of the time,
  // and an idle one keeps none of it (232 bytes and the buffers' own blocks).
  struct outgoing {
    write_queue queue;  // one write in flight; frames queued meanwhile go out together next
    std::vector<asio::const_buffer> buffers;  // the write in flight, as the transport takes it
  };
  std::unique_ptr<outgoing> out_;
  write_queue& out() {
    if (!out_) out_ = std::make_unique<outgoing>();
    return out_->queue;
  }

  // What on_closed() reports once the close exchange (or a failed attempt) ends; made when one of
  // them begins, so an idle open connection does not carry it (bench idle-5000: RSS).
  std::unique_ptr<close_info> closing_;
  close_info& closing() {
    if (!closing_) closing_ = std::make_unique<close_info>();
    return *closing_;
  }
};

}  // namespace rws
