#include "transport/connection.hpp"

#include <tuple>

#include <boost/asio/ssl/error.hpp>

#include "protocol/utf8.hpp"
#include "transport/read_scratch.hpp"

namespace rws {
namespace {

// A connection whose transport cannot read on readiness reads through its own buffer (the
// library's plain-TCP and TLS transports both can, and read into the io thread's read_scratch)
// and holds a small one while idle; one that keeps filling it gets a bigger one
// (up to read_buffer_max), so thousands of idle sockets cost little and a busy one still reads in
// large chunks with few syscalls. After read_buffer_small_reads reads in a row that the small
// buffer would have held, it goes back to that size: a socket that had one burst does not keep
// 256 KiB for the rest of its life.
constexpr std::size_t read_buffer_max = 256 * 1024;
constexpr unsigned read_buffer_small_reads = 4;
constexpr auto close_handshake_deadline = std::chrono::seconds(3);
constexpr auto fail_flush_deadline = std::chrono::milliseconds(500);
// Messages smaller than this go out uncompressed even with permessage-deflate (as ws does):
// deflating them costs more CPU than the bytes it saves.
constexpr std::size_t deflate_threshold = 1024;

bool is_eof(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

connection::connection(asio::io_context& io, connection_params params, connection_handler* handler,
                       std::unique_ptr<transport> stream)
    : io_(io),
      opening_(new opening{std::move(params), {}, {}, {}}),
      handler_(handler),
      transport_(std::move(stream)),
      lane_(opening_->params.lane),
      masks_(mask_source::of(io)),
      max_message_size_(opening_->params.max_message_size) {
  if (transport_) {
    // Given by the caller (a test's fake transport): start_connected() skips resolve and connect.
  } else if (const connection_params& p = opening_->params; p.url.tls) {
    transport_ = make_tls_transport(io, *p.tls_context, p.url.host, p.url.port, p.tls);
  } else {
    transport_ = make_tcp_transport(io);
  }
}

connection::~connection() { close_lane(); }

void connection::close_lane() {
  if (lane_generation_ && lane_->close(lane_generation_)) writes_held_ = true;
}

void connection::read_more() {
  if (reading_ || read_paused_ || phase_ == phase::closed) return;
  reading_ = true;
  if (!reads_on_readiness_) {
    transport_->async_read_some(asio::buffer(read_buf().bytes), [self = shared_from_this()](const error_code& ec, std::size_t n) {
      self->on_read(ec, n);
    });
  } else if (socket_drained_) {
    // Waiting costs Asio an epoll_ctl, as async_read_some's first try would cost a recv that
    // finds nothing: the same syscalls, without a buffer held while nothing comes. That
    // epoll_ctl (EPOLL_CTL_MOD, Asio's epoll reactor for a wait it does not try at once) is also
    // what makes this safe with its edge-triggered registration: it reports bytes that are
    // already there, so a wait never misses what arrived since the last read.
    wait_readable();
  } else {
    // The last read filled the buffer, so more is likely there: read again, in a step of its own
    // so that the io thread's other sockets get their turn between two reads of a busy one.
    asio::post(io_, [self = shared_from_this()] { self->on_readable({}); });
  }
}

void connection::wait_readable() {
  transport_->async_wait_readable([self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
}

void connection::on_readable(const error_code& ec) {
  if (ec || (phase_ != phase::open && phase_ != phase::closing)) {
    on_bytes(ec, nullptr, 0);
    return;
  }
  const scratch_read r = read_into_scratch();
  if (r.nothing) {
    // Nothing after all (a wake-up for bytes an earlier read already took, or a re-read of a
    // buffer that was filled exactly): wait for the next ones.
    socket_drained_ = true;
    wait_readable();
    return;
  }
  socket_drained_ = !r.error && r.size < read_scratch::size;
  on_bytes(r.error, r.data, r.size);
}

connection::scratch_read connection::read_into_scratch() {
  scratch_read r;
  r.data = read_scratch::of(io_).data();
  r.size = transport_->read_now(asio::buffer(r.data, read_scratch::size), r.error);
  r.nothing = r.error == asio::error::would_block || r.error == asio::error::try_again;
  return r;
}

void connection::resume_reading() {
  if (!read_paused_) return;
  read_paused_ = false;
  last_inbound_ = steady_clock::now();  // the pause was ours, not the peer's silence
  read_more();
}

void connection::release_idle_buffers() {
  if (write_idle()) out_.reset();
}

void connection::on_read(const error_code& ec, std::size_t n) { on_bytes(ec, read_buf().bytes.data(), n); }

void connection::on_bytes(const error_code& ec, const char* data, std::size_t n) {
  reading_ = false;
  if (phase_ != phase::open && phase_ != phase::closing) return;
  if (ec) {
    if (phase_ == phase::closing) {
      closing().was_clean = close_received_;
      finish(closing());
    } else {
      close_info info;
      info.code = 1006;
      info.opened = true;
      info.error = make_failure(failure_code::connection_lost,
                                is_eof(ec) ? "the server closed the connection without a close frame (1006)"
                                           : "connection lost: " + ec.message());
      finish(std::move(info));
    }
    return;
  }
  last_inbound_ = steady_clock::now();
  auto& scratch = read_scratch::of(io_);  // one service lookup per read
  auto& inbound = scratch.parsed();
  auto& ready = scratch.ready();
  inbound.clear();
  ready.clear();
  frame_parser& parser = parser_ ? *parser_ : scratch.fresh_parser(max_message_size_, deflate_ != nullptr);
  auto error = parser.feed(data, n, inbound);
  std::string error_detail = error == parse_error::none ? std::string() : std::string(parser.error_detail());
  if (!parser.at_rest()) {
    if (!parser_) parser_ = std::make_unique<frame_parser>(std::move(parser));
  } else {
    parser_.reset();
  }
  // Control frames are answered here, in arrival order; data messages are collected and reach
  // the session at the end of this step, before the end of the connection is reported, so
  // nothing the server sent before its close frame (or before a bad message) is lost.
  for (auto& event : inbound) {
    if (handle_control(event)) {
      if (close_received_) break;  // nothing may follow a close frame
      continue;
    }
    if (event.compressed) {
      auto inflated = inflate_message(event);
      if (inflated.first != parse_error::none) {
        std::tie(error, error_detail) = std::move(inflated);
        break;
      }
    }
    ready.push_back(std::move(event));
  }
  if (error != parse_error::none && !close_received_) violation(error, std::move(error_detail));
  flush();  // pongs and close frames queued above
  if (!reads_on_readiness_) fit_read_buffer(n);
  // Reports, last (see connection.hpp): the data, then the end once the close exchange is over.
  if (!ready.empty() && handler_ && !handler_->on_inbound(ready)) read_paused_ = true;
  // What the session did not take (pongs, duplicates, whatever followed a close frame) goes now,
  // not when some other socket of this thread reads next; the vectors keep their capacity.
  inbound.clear();
  ready.clear();
  if (close_received_) {
    end_after_close_exchange();
  } else if (phase_ == phase::open || phase_ == phase::closing) {
    // Rule 4: on_inbound's answer decides this, so it comes after that report. While closing,
    // reading goes on until the server's close frame (data may still come before it).
    read_more();
  }
}

void connection::fit_read_buffer(std::size_t last_read) {
  own_read_buffer& b = read_buf();
  if (last_read == b.bytes.size() && last_read < read_buffer_max) {
    b.bytes.resize(last_read * 2);  // the peer sends fast
    b.small_reads = 0;
  } else if (b.bytes.size() > read_buffer_min && last_read <= read_buffer_min) {
    if (++b.small_reads < read_buffer_small_reads) return;
    std::vector<char>(read_buffer_min).swap(b.bytes);  // gives the memory back
    b.small_reads = 0;
  } else {
    b.small_reads = 0;
  }
}

std::pair<parse_error, std::string> connection::inflate_message(inbound_event& event) {
  std::string out;
  bool too_big = false;
  if (!deflate_->inflate(event.payload, max_message_size_, out, too_big)) {
    if (too_big) return {parse_error::too_big, "a compressed message that inflates past maxMessageSize"};
    return {parse_error::protocol, "a message that does not inflate"};
  }
  if (event.type == inbound_event::kind::text && !is_valid_utf8(out)) {
    return {parse_error::invalid_utf8, "a compressed text message that is not valid UTF-8"};
  }
  event.payload = std::move(out);
  event.compressed = false;
  return {parse_error::none, {}};
}

bool connection::handle_control(inbound_event& event) {
  switch (event.type) {
    case inbound_event::kind::ping:
      // Answered on the io thread, whatever JavaScript is doing.
      if (!close_sent_) queue_frame(opcode::pong, event.payload);  // flushed at the end of the read
      return true;
    case inbound_event::kind::close:
      if (close_received_) return true;
      close_received_ = true;
      if (!close_sent_) {
        // Echo the server's code (RFC 6455 §5.5.1), then end once it is written.
        closing().code = event.close_code;
        closing().reason = event.payload;
        closing().opened = true;
        closing().was_clean = true;
        close_lane();
        queue_frame(opcode::close, event.close_code == 1005 ? std::string() : close_payload(event.close_code, {}));
        close_sent_ = true;
        phase_ = phase::closing;
        arm_deadline(close_handshake_deadline);
      } else {
        closing().was_clean = true;
      }
      return true;  // on_bytes ends the exchange once the echo is written
    default:
      return false;
  }
}

void connection::violation(parse_error error, std::string detail) {
  std::uint16_t code = 1002;
  auto err = failure_code::protocol;
  if (error == parse_error::invalid_utf8) code = 1007;
  if (error == parse_error::too_big) {
    code = 1009;
    err = failure_code::message_too_large;
  }
  fail(code, make_failure(err, "the server sent " + detail + "; closed with " + std::to_string(code)));
}

void connection::send(bool binary, std::string_view payload, std::uint64_t tag) {
  if (phase_ != phase::open) return;
  auto op = binary ? opcode::binary : opcode::text;
  std::uint32_t mask = masks_.next();
  if (deflate_ && payload.size() >= deflate_threshold) {
    std::string compressed;
    if (!deflate_->deflate(payload, compressed)) {
      // zlib out of memory. The message is neither sent nor reported as written (so the session
      // does not resolve it as delivered); the deflate context is lost, so the connection goes.
      fail(1011, make_failure(failure_code::connection_lost,
                              "compressing an outgoing message failed (zlib out of memory); the message was not "
                              "sent and the connection was closed with 1011"));
      return;
    }
    encode_client_frame(out().pending(), op, compressed.data(), compressed.size(), mask, true);
  } else {
    encode_client_frame(out().pending(), op, payload.data(), payload.size(), mask);
  }
  out().tag_last(tag);
}

void connection::send_shared(bool binary, const shared_payload& payload, std::uint64_t tag) {
  const auto& block = payload.shared();
  if (!block) return send(binary, payload.plain(), tag);
  if (phase_ != phase::open) return;
  const std::uint32_t old_mask = block->masked ? block->mask : 0;
  if (!transport_->gathers_writes() || (deflate_ && block->bytes.size() >= deflate_threshold)) {
    // TLS or compression copies anyway: plain bytes for them.
    if (block->masked) remask_in_place(block->bytes.data(), block->bytes.size(), old_mask, 0);
    block->masked = false;
    return send(binary, std::string_view(block->bytes), tag);
  }
  // Bytes the binding masked with a fresh key go out as they are. Plain bytes are masked here,
  // and bytes masked for an earlier frame (this is a resend: that connection is closed and its
  // write no longer reads them) are re-keyed, in one pass either way.
  if (!block->masked || block->key_on_wire) {
    const std::uint32_t mask = masks_.next();
    remask_in_place(block->bytes.data(), block->bytes.size(), old_mask, mask);
    block->masked = true;
    block->mask = mask;
  }
  block->key_on_wire = true;
  write_queue& queue = out();
  encode_client_header(queue.pending(), binary ? opcode::binary : opcode::text, block->bytes.size(), block->mask);
  queue.append_shared(block->bytes, block);
  queue.tag_last(tag);
}

void connection::send_tail_first(std::string_view tail, std::uint64_t tag) {
  out().prepend(tail, tag);
  writes_held_ = false;
  flush();
}

void connection::ping(std::string_view payload) {
  if (phase_ != phase::open) return;
  queue_frame(opcode::ping, payload);
  flush();
}

void connection::queue_frame(opcode op, std::string_view payload) {
  std::uint32_t mask = masks_.next();
  encode_client_frame(out().pending(), op, payload.data(), payload.size(), mask);
}

void connection::flush() {
  if (write_idle() || out_->queue.writing() || phase_ == phase::closed) return;
  // Not while the rest of a frame JavaScript began is on its way here (send_tail_first).
  if (writes_held_ || (lane_generation_ && !lane_->begin_io_write(lane_generation_))) return;
  const auto& pieces = out_->queue.begin_write();
  auto& buffers = out_->buffers;
  buffers.clear();
  for (auto piece : pieces) buffers.push_back(asio::buffer(piece.data(), piece.size()));
  transport_->async_write(buffers,
                          [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_write(ec, n); });
}

void connection::on_write(const error_code& ec, std::size_t n) {
  if (phase_ == phase::closed) return;
  if (ec) {
    out_->queue.fail_write();
    if (phase_ == phase::closing) {
      finish(closing());
    } else {
      close_info info;
      info.opened = true;
      info.error = make_failure(failure_code::connection_lost, "connection lost while writing: " + ec.message());
      finish(std::move(info));
    }
    return;
  }
  std::uint64_t last_tag = out_->queue.end_write(n);
  flush();  // what queued up meanwhile goes out now, in one write
  // Nothing more to write, and buffers a burst did not grow: the queue goes (made again by the
  // next frame). A grown one stays, for a sender that goes on, until release_idle_buffers().
  if (write_idle() && out_->queue.buffers_small() && out_->buffers.capacity() <= 16) out_.reset();
  // Reports, last (see connection.hpp): what was written, then the end of a finished exchange.
  if (last_tag && handler_) {
    handler_->on_written(last_tag);
  } else if (handler_ && phase_ == phase::open && write_idle()) {
    handler_->on_write_idle();
  }
  if (phase_ == phase::closing) end_after_close_exchange();
}

void connection::close(std::uint16_t code, std::string_view reason) {
  if (phase_ == phase::connecting || phase_ == phase::upgrading) {
    close_info info;
    info.code = code;
    info.reason = std::string(reason);
    info.was_clean = true;
    finish_later(std::move(info));
    return;
  }
  if (phase_ != phase::open) return;
  close_lane();
  phase_ = phase::closing;
  closing() = {};
  closing().code = code;
  closing().reason = std::string(reason);
  closing().opened = true;
  queue_frame(opcode::close, close_payload(code, reason));
  close_sent_ = true;
  arm_deadline(close_handshake_deadline);
  flush();
}

void connection::fail(std::uint16_t code, failure error) {
  if (phase_ == phase::connecting || phase_ == phase::upgrading) {
    close_info info;
    info.error = std::move(error);
    finish_later(std::move(info));
    return;
  }
  if (phase_ == phase::closed) return;
  closing() = {};
  closing().code = code;
  closing().opened = true;
  closing().error = std::move(error);
  close_lane();
  phase_ = phase::closing;
  if (!close_sent_) {
    queue_frame(opcode::close, close_payload(code, {}));
    close_sent_ = true;
  }
  // We do not wait for the peer's answer: it is broken or dead. The close frame gets a short
  // chance to leave, then the socket goes.
  close_received_ = true;
  arm_deadline(fail_flush_deadline);
  flush();
  // Usually the close frame is being written and on_write ends the exchange; if nothing was left
  // to write, end it from a step of its own, not inside the caller's call (rule 3).
  asio::post(io_, [self = shared_from_this()] { self->end_after_close_exchange(); });
}

void connection::finish_later(close_info info) {
  // The pending resolve/connect/handshake steps see a phase that is not theirs and stop.
  phase_ = phase::closing;
  cancel_deadline();
  asio::post(io_, [self = shared_from_this(), info = std::move(info)]() mutable { self->finish(std::move(info)); });
}

void connection::end_after_close_exchange() {
  if (phase_ == phase::closing && close_sent_ && close_received_ && write_idle()) {
    finish(closing());
  }
}

void connection::fail_attempt(failure error) {
  close_info info;
  info.code = 1006;
  info.opened = false;
  info.error = std::move(error);
  finish(std::move(info));
}

void connection::finish(close_info info) {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  cancel_deadline();
  if (opening_ && opening_->race) opening_->race->cancel();
  close_lane();
  transport_->close();
  auto* handler = handler_;
  handler_ = nullptr;
  if (handler) handler->on_closed(std::move(info));
}

void connection::abandon(std::uint16_t code) {
  handler_ = nullptr;
  fail(code, {});  // sends the close frame best-effort, then closes; no callback without a handler
}

void connection::abort() {
  handler_ = nullptr;
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  cancel_deadline();
  if (opening_ && opening_->race) opening_->race->cancel();
  close_lane();
  transport_->close();
}

}  // namespace rws
