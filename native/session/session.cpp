#include "session/session.hpp"

#include <algorithm>
#include <random>

namespace rws {
namespace {

// Frames are taken from the outbox only while the socket's queue is below this, so a large
// backlog is written in steady slices instead of being copied into one huge buffer.
constexpr std::uint64_t write_high_water = 1u << 20;
constexpr auto id_persist_delay = std::chrono::milliseconds(100);
// info.replayed is a hint (SPEC §6 gives no server signal for "end of replay"): messages count as
// replayed from a resumed open until a read drains the socket or the stream pauses this long.
constexpr auto replay_quiet_gap = std::chrono::milliseconds(100);
// close() writes what is queued before the close frame, for at most this long.
constexpr auto close_drain_limit = std::chrono::seconds(5);

double uniform01() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// RFC 9110 field-value: visible characters, obs-text, SP and HTAB; no other control character.
bool fits_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

failure make_failure(failure_code code, std::string message) {
  failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

std::int64_t ms_since(steady_clock::time_point then) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - then).count();
}

// What the handshake status means (SPEC §5): terminal, or retry (maybe after Retry-After).
void classify_rejection(failure& f, bool& terminal) {
  if (f.status == 401 || f.status == 403) {
    f.code = failure_code::auth;
    f.message += " — the server refused the credentials; fix the token or headers (not retrying)";
    terminal = true;
  } else if (f.status == 400 || f.status == 404) {
    f.message += " — the server will not accept this request; check the URL and headers (not retrying)";
    terminal = true;
  }
}

}  // namespace

const char* state_name(session_state state) {
  switch (state) {
    case session_state::idle: return "idle";
    case session_state::connecting: return "connecting";
    case session_state::open: return "open";
    case session_state::reconnecting: return "reconnecting";
    case session_state::closing: return "closing";
    case session_state::closed: return "closed";
    case session_state::failed: return "failed";
  }
  return "unknown";
}

session::session(asio::io_context& io, session_config config, std::shared_ptr<event_sink> sink,
                 std::shared_ptr<session_stats> stats, std::shared_ptr<asio::ssl::context> tls_context)
    : io_(io),
      config_(std::move(config)),
      sink_(std::move(sink)),
      stats_(std::move(stats)),
      tls_context_(std::move(tls_context)),
      backoff_(config_.reconnect.curve, uniform01),
      retry_timer_(io),
      stable_timer_(io),
      heartbeat_timer_(io),
      heartbeat_(config_.heartbeat),
      outbox_(config_.outbox),
      seen_ids_(config_.resume.enabled ? std::make_unique<id_window>(config_.resume.window) : nullptr),
      id_persist_timer_(io) {
  for (const auto& text : config_.urls) {
    std::string error;
    if (auto url = parse_ws_url(text, error)) urls_.push_back(std::move(*url));  // lib/ validated them
  }
}

session::~session() = default;

void session::mark_disconnected() {
  disconnected_since_ = steady_clock::now();
  stats_->disconnected_since_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(disconnected_since_.time_since_epoch()).count();
}

void session::flush_events() {
  if (!events_.empty()) sink_->push(events_);
}

void session::set_state(session_state next, const std::string& reason) {
  if (next == state_) return;
  auto e = session_event::with_detail(event_kind::state);
  e.detail->state = state_name(next);
  e.detail->previous = state_name(state_);
  e.detail->reason = reason;
  state_ = next;
  emit(std::move(e));
}

void session::start(bool connect_now) {
  failure corrupt;
  failure opened = outbox_.open(corrupt, [&io = io_](std::function<void()> f) { asio::post(io, std::move(f)); });
  stats_->torn_bytes_truncated = outbox_.torn_bytes();
  if (corrupt) {
    auto e = session_event::with_detail(event_kind::error);
    e.detail->error = corrupt;
    emit(std::move(e));
  }
  if (opened) {
    enter_failed(opened, 1006);
    flush_events();
    return;
  }
  stats_->outbox_size = outbox_.size();
  stats_->outbox_bytes = outbox_.bytes();
  // Records recovered from disk are a busy outbox too: a restarted process waits for 'drain'
  // to know that what the previous one left behind has been delivered.
  if (outbox_.size()) outbox_was_busy_ = true;
  if (config_.resume.enabled && outbox_.durable()) {
    // The file holds the id as a JSON token: a number as written, a string quoted.
    if (auto stored = outbox_.load_resume_position()) {
      if (auto id = find_json_field("{\"id\":" + *stored + "}", {"id"})) {
        last_event_id_ = id->text;
        last_event_id_is_string_ = id->type == json_scalar::kind::string;
        delivered_event_id_ = last_event_id_;
        delivered_id_is_string_ = last_event_id_is_string_;
        auto e = session_event::with_detail(event_kind::resume_info);
        e.detail->resumed_from = last_event_id_;
        emit(std::move(e));
      }
    }
  }
  if (connect_now) begin_attempt();
  flush_events();
}

void session::connect() {
  if (state_ == session_state::idle) begin_attempt();
  flush_events();
}

void session::begin_attempt() {
  if (urls_.empty()) {  // the binding refuses unusable URLs; this only guards the modulo below
    enter_failed(make_failure(failure_code::invalid_option, "no usable ws:// or wss:// URL"), 1006);
    return;
  }
  if (!ever_opened_ && attempt_ == 0) mark_disconnected();  // the first attempt starts the clock
  ++attempt_;
  stats_->attempt = attempt_;
  const ws_url& url = urls_[url_turn_++ % urls_.size()];
  connection_params params;
  params.url = url;
  params.target = url.target;
  params.headers = config_.headers;
  params.protocols = config_.protocols;
  params.per_message_deflate = config_.per_message_deflate;
  params.max_message_size = config_.max_message_size;
  params.connect_timeout_ms = config_.connect_timeout_ms;
  params.tls_context = tls_context_;
  params.tls = config_.tls;
  resumed_from_.clear();
  if (config_.resume.enabled && !last_event_id_.empty()) {
    resumed_from_ = last_event_id_;
    if (config_.resume.via == resume_via::query) {
      params.target = with_query_param(url.target, config_.resume.param, last_event_id_);
    } else if (config_.resume.via == resume_via::header) {
      // The id comes from the network: a CR or LF in it would end the header line and let event
      // data write request lines of its own. An id HTTP cannot carry is not sent (EventSource
      // never adopts such ids either); the server then sees a fresh client.
      if (fits_header_value(last_event_id_)) {
        params.headers.emplace_back(config_.resume.param, last_event_id_);
      } else {
        resumed_from_.clear();
      }
    }
  }
  set_state(session_state::connecting);
  auto e = session_event::with_detail(event_kind::connecting);
  e.detail->attempt = attempt_;
  e.detail->url = url.display;
  emit(std::move(e));
  conn_ = std::make_shared<connection>(io_, std::move(params), this);
  conn_->start();
}

void session::on_open(const open_info& info) {
  stats_->connects++;
  if (ever_opened_) stats_->reconnects++;
  stats_->disconnected_ms += ms_since(disconnected_since_);
  stats_->disconnected_since_ms = -1;
  set_state(session_state::open);
  auto e = session_event::with_detail(event_kind::open);
  e.detail->attempt = attempt_;
  e.detail->url = conn_->display_url();
  e.detail->protocol = info.protocol;
  e.detail->reconnected = ever_opened_;
  e.detail->resumed_from = resumed_from_;
  emit(std::move(e));
  ever_opened_ = true;
  replay_phase_ = !resumed_from_.empty();
  last_data_at_ = steady_clock::now();

  // The attempt counter resets only once the connection has proved itself.
  stable_timer_.expires_after(std::chrono::milliseconds(config_.reconnect.stable_after_ms));
  stable_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->state_ != session_state::open) return;
    self->attempt_ = 0;
    self->stats_->attempt = 0;
    self->backoff_.reset_after_stable();
  });

  if (config_.heartbeat.enabled) arm_heartbeat(heartbeat_.start(steady_clock::now(), clock_()));

  if (config_.resume.enabled && config_.resume.via == resume_via::message && !resumed_from_.empty()) {
    // The resume handshake goes first; the outbox flushes after it.
    std::string sync = config_.resume.param;
    std::string id_json = last_event_id_is_string_ ? json_quote(last_event_id_) : last_event_id_;
    for (auto pos = sync.find("{{id}}"); pos != std::string::npos; pos = sync.find("{{id}}", pos + id_json.size())) {
      sync.replace(pos, 6, id_json);
    }
    conn_->send(false, sync, 0);
  }
  outbox_.rewind();
  pump();
  flush_events();
}

void session::pump() {
  if (!conn_ || !conn_->is_open()) return;
  std::uint64_t queued = 0;
  while (conn_->buffered_bytes() < write_high_water) {
    const outbox_item* item = outbox_.next_to_send();
    if (!item) break;
    conn_->send(item->binary, item->payload, item->seq);
    queued += item->payload.size();
    stats_->messages_out++;
  }
  if (queued) stats_->bytes_out += queued;
  conn_->flush();
  stats_->buffered_amount = conn_->buffered_bytes();
}

bool session::on_inbound(std::vector<inbound_event>& events) {
  // A server replays right after the handshake; data after a pause in the stream is live.
  auto now = steady_clock::now();
  if (replay_phase_ && now - last_data_at_ > replay_quiet_gap) replay_phase_ = false;
  last_data_at_ = now;
  for (auto& event : events) {
    if (event.type == inbound_event::kind::pong) {
      handle_pong();
      continue;
    }
    stats_->messages_in++;
    stats_->bytes_in += event.payload.size();
    bool binary = event.type == inbound_event::kind::binary;
    std::string id;
    bool id_is_string = false;
    if (!binary) {
      if (handle_text_control(event)) continue;
      if (config_.resume.enabled) {
        if (auto found = find_json_field(event.payload, config_.resume.id_path)) {
          if (seen_ids_->contains(found->text)) {
            stats_->duplicates_dropped++;
            continue;
          }
          id_is_string = found->type == json_scalar::kind::string;
          id = std::move(found->text);
          note_event_id(id, id_is_string);
        }
      }
    }
    session_event e(event_kind::message);
    e.binary = binary;
    e.replayed = replay_phase_;
    e.data = std::move(event.payload);
    e.id = std::move(id);
    e.id_is_string = id_is_string;
    emit(std::move(e));
  }
  if (replay_phase_ && conn_ && !conn_->has_pending_input()) replay_phase_ = false;
  flush_events();
  if (sink_->backlog_bytes() >= max_js_backlog) {
    reading_paused_ = true;
    return false;
  }
  return true;
}

bool session::handle_text_control(inbound_event& event) {
  const auto& hb = config_.heartbeat;
  if (hb.enabled && hb.message_mode && event.payload == hb.pong) {
    handle_pong();
    return true;
  }
  const auto& ob = config_.outbox;
  if (ob.guarantee == delivery_guarantee::acked && json_matches(event.payload, ob.ack_match)) {
    // An acknowledgement: consumed here, never delivered as a message.
    if (auto key = find_json_field(event.payload, ob.ack_key_path)) {
      std::vector<send_outcome> delivered;
      if (outbox_.acknowledge(key->text, delivered)) {
        auto e = session_event::with_detail(event_kind::ack);
        e.detail->key = key->text;
        emit(std::move(e));
        report_sent(delivered, receipt_status::acked);
        check_drain();
      }
    }
    return true;
  }
  return false;
}

void session::note_event_id(const std::string& id, bool is_string) {
  if (auto gap = numeric_id_gap(last_event_id_, id)) {
    stats_->id_gaps++;
    stats_->ids_missing += gap;
  }
  seen_ids_->insert(id);
  last_event_id_ = id;
  last_event_id_is_string_ = is_string;
}

void session::note_delivered_id(const std::string& id, bool is_string) {
  delivered_event_id_ = id;
  delivered_id_is_string_ = is_string;
  if (!outbox_.durable() || id_dirty_) return;
  // Only ids JavaScript has received are stored: a process that dies with events still queued
  // for JavaScript resumes before them. Persisting every id would cost an fsync per message; a
  // short delay groups them, so after a crash the server may replay a few events again.
  id_dirty_ = true;
  id_persist_timer_.expires_after(id_persist_delay);
  id_persist_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->persist_event_id();
  });
}

void session::persist_event_id() {
  if (!id_dirty_ || !outbox_.durable()) return;
  id_dirty_ = false;
  outbox_.store_resume_position(delivered_id_is_string_ ? json_quote(delivered_event_id_) : delivered_event_id_);
}

void session::handle_pong() {
  auto rtt = heartbeat_.on_pong(steady_clock::now());
  if (!rtt) return;
  stats_->last_rtt_us = static_cast<std::int64_t>(*rtt * 1000);
  auto e = session_event::with_detail(event_kind::heartbeat);
  e.detail->rtt_ms = *rtt;
  emit(std::move(e));
}

void session::arm_heartbeat(std::chrono::milliseconds delay) {
  heartbeat_timer_.expires_after(delay);
  heartbeat_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->on_heartbeat();
  });
}

void session::on_heartbeat() {
  if (state_ != session_state::open || !conn_ || !conn_->is_open()) return;
  if (reading_paused_) {
    // JavaScript has not taken the backlog yet, so nothing is being read: silence proves
    // nothing. The heartbeat starts over once reading resumes.
    arm_heartbeat(heartbeat_.start(steady_clock::now(), clock_()));
    return;
  }
  auto step = heartbeat_.on_timer(steady_clock::now(), conn_->last_inbound(), clock_());
  if (step.woke) stats_->wakeups_detected++;
  if (step.what == heartbeat_step::action::dead) {
    conn_->fail(4000, make_failure(failure_code::heartbeat_timeout,
                                   "no answer to the heartbeat within " + std::to_string(config_.heartbeat.timeout_ms) +
                                       " ms (silent for " + std::to_string(step.silent.count()) +
                                       " ms); the connection is dead"));
    flush_events();
    return;
  }
  if (step.what == heartbeat_step::action::probe) {
    stats_->heartbeats_sent++;
    if (config_.heartbeat.message_mode) {
      conn_->send(false, config_.heartbeat.message, 0);
      conn_->flush();
    } else {
      conn_->ping("rws");
    }
  }
  arm_heartbeat(step.next_check);
  flush_events();
}

void session::on_written(std::uint64_t tag) {
  std::vector<send_outcome> delivered;
  outbox_.written_upto(tag, delivered);
  if (!outbox_.durable()) report_sent(delivered, receipt_status::written);
  check_drain();
  if (state_ == session_state::closing && !close_frame_sent_) {
    continue_closing();
  } else {
    pump();
  }
  flush_events();
}

void session::report_sent(std::vector<send_outcome>& outcomes, receipt_status status) {
  // Consecutive requests with consecutive seqs travel as one range event.
  event_detail* run = nullptr;
  for (const auto& o : outcomes) {
    if (o.request == 0) continue;  // recovered from disk: nobody in this process waits for it
    if (run && o.request == run->first_request + run->count && o.seq == run->first_seq + run->count) {
      ++run->count;
      continue;
    }
    auto e = session_event::with_detail(event_kind::sent);
    run = e.detail.get();
    run->first_request = o.request;
    run->first_seq = o.seq;
    run->count = 1;
    run->status = status;
    run->key_prefix = outbox_.key_prefix();
    emit(std::move(e));
  }
  outcomes.clear();
}

void session::report_rejected(std::vector<send_outcome>& outcomes) {
  for (auto& o : outcomes) {
    if (o.request == 0) continue;
    auto e = session_event::with_detail(event_kind::send_failed);
    e.detail->first_request = o.request;
    e.detail->error = std::move(o.error);
    emit(std::move(e));
  }
  outcomes.clear();
}

void session::check_drain() {
  stats_->outbox_size = outbox_.size();
  stats_->outbox_bytes = outbox_.bytes();
  if (outbox_.size() == 0 && outbox_was_busy_) {
    outbox_was_busy_ = false;
    emit(session_event(event_kind::drain));
  }
}

void session::send(std::vector<outgoing_message> batch, std::uint64_t first_request) {
  const std::size_t handed_over = batch.size();
  std::vector<send_outcome> accepted, rejected;
  if (state_ == session_state::closing || state_ == session_state::closed || state_ == session_state::failed) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      rejected.push_back({first_request + i, 0, make_failure(failure_code::closed, "send() after close()")});
    }
  } else {
    outbox_.accept(batch, first_request, accepted, rejected);
    if (outbox_.size()) outbox_was_busy_ = true;
    // With a file outbox a send resolves once durable; in memory it resolves once written, and
    // in 'acked' mode once the server acknowledges its key.
    if (outbox_.needs_sync()) {
      schedule_sync();
    } else if (outbox_.durable() && config_.outbox.guarantee == delivery_guarantee::written) {
      report_sent(accepted, receipt_status::persisted);
    }
  }
  report_rejected(rejected);
  stats_->outbox_size = outbox_.size();
  stats_->outbox_bytes = outbox_.bytes();
  stats_->sends_in_flight -= handed_over;  // counted by the binding when JavaScript handed it over
  pump();
  flush_events();
}

void session::schedule_sync() {
  if (sync_scheduled_) return;
  sync_scheduled_ = true;
  // Posted, not run here: send() batches that JavaScript queued meanwhile run first and share
  // this one fsync. The fdatasync runs on the outbox's disk worker; the io thread goes on, and
  // sends that arrive before it finishes share the next one.
  asio::post(io_, [self = shared_from_this()] {
    self->outbox_.start_sync([self] {
      self->sync_scheduled_ = false;
      self->sync_outbox(false);
      if (self->outbox_.needs_sync()) self->schedule_sync();
      if (self->state_ == session_state::closing && !self->close_frame_sent_) {
        self->continue_closing();  // what just became durable goes out before the close frame
      } else {
        self->pump();
      }
      self->flush_events();
    });
  });
}

void session::sync_outbox(bool wait) {
  std::vector<send_outcome> persisted, rejected;
  outbox_.sync_appended(persisted, rejected, wait);
  if (config_.outbox.guarantee == delivery_guarantee::written) report_sent(persisted, receipt_status::persisted);
  report_rejected(rejected);
  check_drain();
}

void session::on_closed(close_info info) {
  drop_connection();
  bool was_open = info.opened;
  if (was_open) mark_disconnected();
  failure cause = info.error;
  bool terminal = false;
  if (cause.code == failure_code::handshake_rejected) classify_rejection(cause, terminal);
  if (cause.code == failure_code::tls_verify) terminal = true;
  const auto& stop = config_.reconnect.stop_on_close_codes;
  if (was_open && !cause && std::find(stop.begin(), stop.end(), info.code) != stop.end()) {
    terminal = true;
    cause = make_failure(failure_code::closed_by_server,
                         "the server closed the connection with " + std::to_string(info.code) +
                             (info.reason.empty() ? "" : " (" + info.reason + ")") +
                             ", a code listed in reconnect.stopOnCloseCodes; not reconnecting");
    cause.close_code = info.code;
  }
  bool closing = state_ == session_state::closing;
  bool will_reconnect = !closing && !terminal && config_.reconnect.enabled;
  if (was_open) {
    auto e = session_event::with_detail(event_kind::disconnect);
    e.detail->code = info.code;
    e.detail->reason = info.reason;
    e.detail->was_clean = info.was_clean;
    e.detail->will_reconnect = will_reconnect;
    e.detail->error = cause;
    emit(std::move(e));
  }
  if (closing) {
    finish_closed(closing_code_, info.reason);
  } else if (terminal) {
    enter_failed(cause, info.code);
  } else if (!config_.reconnect.enabled) {
    if (was_open) {
      finish_closed(info.code, info.reason);
    } else {
      enter_failed(cause, info.code);
    }
  } else {
    std::string reason = cause ? cause.message : "closed by the server with " + std::to_string(info.code);
    schedule_retry(cause, reason);
  }
  flush_events();
}

void session::schedule_retry(const failure& cause, const std::string& reason) {
  if (attempt_ > config_.reconnect.max_retries) {
    auto f = make_failure(failure_code::retries_exhausted,
                          "gave up after " + std::to_string(attempt_) + " attempts (reconnect.maxRetries " +
                              std::to_string(config_.reconnect.max_retries) + "); last error: " + reason);
    f.status = cause.status;
    enter_failed(f, 1006);
    return;
  }
  auto delay = static_cast<std::int64_t>(backoff_.next_delay_ms());
  bool honours_retry_after = cause.status == 429 || cause.status == 503;
  if (honours_retry_after && cause.retry_after_ms > delay) delay = cause.retry_after_ms;
  set_state(session_state::reconnecting, reason);
  auto e = session_event::with_detail(event_kind::reconnecting);
  e.detail->attempt = attempt_ + 1;
  e.detail->delay_ms = delay;
  e.detail->reason = reason;
  e.detail->error = cause;
  emit(std::move(e));
  retry_timer_.expires_after(std::chrono::milliseconds(delay));
  retry_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->state_ != session_state::reconnecting) return;
    self->begin_attempt();
    self->flush_events();
  });
}

void session::drop_connection(std::uint16_t close_code) {
  heartbeat_timer_.cancel();
  stable_timer_.cancel();
  reading_paused_ = false;
  if (!conn_) return;
  if (close_code) {
    conn_->abandon(close_code);
  } else {
    conn_->abort();
  }
  // The connection may be on the call stack (on_closed runs inside it): release it later.
  asio::post(io_, [dead = std::move(conn_)] {});
}

void session::enter_failed(failure error, int close_code) {
  set_state(session_state::failed, error.message);
  auto e = session_event::with_detail(event_kind::failed);
  e.detail->error = error;
  emit(std::move(e));
  release_resources();
  auto c = session_event::with_detail(event_kind::close);
  c.detail->code = close_code;
  c.detail->reason = error.message;
  emit(std::move(c));
}

void session::finish_closed(int code, const std::string& reason) {
  set_state(session_state::closed);
  release_resources();
  auto c = session_event::with_detail(event_kind::close);
  c.detail->code = code;
  c.detail->reason = reason;
  emit(std::move(c));
}

void session::release_resources() {
  retry_timer_.cancel();
  id_persist_timer_.cancel();
  drop_connection();
  // Every message parsed so far is queued for JavaScript ahead of the 'close' event this ends
  // with, so at a regular end the newest parsed id is the one to resume from. (Teardown, where
  // queued events are dropped, stores only what JavaScript received: see shutdown().)
  if (!last_event_id_.empty() && last_event_id_ != delivered_event_id_) {
    delivered_event_id_ = last_event_id_;
    delivered_id_is_string_ = last_event_id_is_string_;
    id_dirty_ = true;
  }
  persist_event_id();
  sync_outbox();  // sends still waiting for the group commit resolve (or fail) before the end
  std::vector<send_outcome> rejected;
  outbox_.abandon(rejected);
  report_rejected(rejected);
  outbox_.close();
  stats_->outbox_size = outbox_.size();
  stats_->buffered_amount = 0;
}

void session::close(std::uint16_t code, std::string reason) {
  closing_code_ = code;
  switch (state_) {
    case session_state::open:
      set_state(session_state::closing, reason);
      closing_reason_ = reason;
      if (outbox_.needs_sync()) schedule_sync();  // on the disk worker; its completion pumps
      // What is queued goes out before the close frame (on_written keeps pumping), but a
      // connection that stopped draining does not hold close() for longer than this.
      retry_timer_.expires_after(close_drain_limit);
      retry_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->state_ != session_state::closing) return;
        self->send_close_frame();
        self->flush_events();
      });
      continue_closing();
      break;
    case session_state::idle:
    case session_state::connecting:
    case session_state::reconnecting:
      set_state(session_state::closing, reason);
      drop_connection();
      finish_closed(code, reason);
      break;
    default:
      break;
  }
  flush_events();
}

void session::continue_closing() {
  pump();
  if (!outbox_.has_unsent()) send_close_frame();
}

void session::send_close_frame() {
  if (close_frame_sent_ || !conn_) return;
  close_frame_sent_ = true;
  retry_timer_.cancel();
  conn_->close(static_cast<std::uint16_t>(closing_code_), closing_reason_);
}

void session::reconnect() {
  switch (state_) {
    case session_state::open: {
      drop_connection(4001);  // the server sees a close frame, not a bare reset
      mark_disconnected();
      auto e = session_event::with_detail(event_kind::disconnect);
      e.detail->code = 4001;
      e.detail->reason = "reconnect() called";
      e.detail->will_reconnect = true;
      emit(std::move(e));
      begin_attempt();
      break;
    }
    case session_state::connecting:
      drop_connection();
      begin_attempt();
      break;
    case session_state::reconnecting:
    case session_state::idle:
      retry_timer_.cancel();
      begin_attempt();
      break;
    default:
      break;  // closing, closed, failed: close() is final
  }
  flush_events();
}

void session::resume_reading() {
  if (!reading_paused_ || !conn_) return;
  reading_paused_ = false;
  conn_->resume_reading();
}

void session::shutdown() {
  events_.clear();
  retry_timer_.cancel();
  id_persist_timer_.cancel();
  drop_connection();
  persist_event_id();
  outbox_.close();
  state_ = session_state::closed;
}

}  // namespace rws
