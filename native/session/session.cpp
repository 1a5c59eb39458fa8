#include "session/session.hpp"

#include "protocol/redirect.hpp"
#include "transport/block_pool.hpp"
#include "transport/io_post_gate.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <memory>
#include <random>

namespace rws {
namespace {

// close() writes what is queued before the close frame, for at most this long.
constexpr auto close_drain_limit = std::chrono::seconds(5);

double uniform01() {
  // On the heap: a 2.5 KiB thread_local would not fit the static TLS space glibc keeps for
  // dlopen()ed modules (the prebuilt addon's libc++abi uses initial-exec TLS, so all of the
  // addon's TLS must fit there).
  thread_local std::unique_ptr<std::mt19937_64> engine;
  if (!engine) engine = std::make_unique<std::mt19937_64>(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
}

// RFC 9110 field-value: visible characters, obs-text, SP and HTAB; no other control character.
bool fits_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

// Header names compare without regard to ASCII case (RFC 9110 §5.1).
bool iequals_ascii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::int64_t ms_since(steady_clock::time_point then) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - then).count();
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

session::session(asio::io_context& io, std::shared_ptr<const session_config> config, std::shared_ptr<event_sink> sink,
                 std::shared_ptr<asio::ssl::context> tls_context)
    : io_(io),
      config_(std::move(config)),
      sink_(std::move(sink)),
      heartbeat_(config_->heartbeat),
      outbox_(std::shared_ptr<const outbox_config>(config_, &config_->outbox)),
      resume_(std::shared_ptr<const resume_config>(config_, &config_->resume),
              [this](const std::string& id_token) { outbox_.store_resume_position(id_token); }) {
  // The JavaScript thread's direct writes skip what only the outbox can do: storing to disk,
  // keeping a message until the server acks it, writing its key into the JSON.
  const auto& o = config_->outbox;
  if (o.path.empty() && o.guarantee == delivery_guarantee::written && o.key_field.empty()) {
    lane_ = std::make_shared<direct_lane>(o.max_bytes);
    outbox_.share_seq_counter(&lane_->next_seq);
  }
  if (tls_context) occasional().tls_context = std::move(tls_context);
}

session::~session() = default;

backoff& session::reconnect_backoff() {
  auto& curve = occasional().reconnect_curve;
  if (!curve) curve = std::make_unique<backoff>(config_->reconnect.curve, [](void*) { return uniform01(); });
  return *curve;
}

void session::mark_disconnected() {
  disconnected_since_ = steady_clock::now();
  if (std::exchange(stability_pending_, false)) {
    // When the connection counted as stable (reconnect.stableAfter), in the stats alone: judged
    // here, when it ends, not by a timer (5,000 sockets opened together meant 5,000 separate
    // wake-ups of the io thread 5 s later, more CPU than their heartbeats: bench idle-5000).
    // Both instants rounded up to the millisecond: everything that counted as stable against the
    // exact instant still does (stableAfter: 0 and a drop within the millisecond of the open),
    // and never later than stats() says so.
    const auto ended_ms = std::chrono::ceil<std::chrono::milliseconds>(disconnected_since_.time_since_epoch()).count();
    if (ended_ms >= stats_.stable_at_ms.load()) {
      stats_.attempt = 0;  // before stable_at_ms goes: stats() never reads the old count
      reconnect_backoff().reset_after_stable();
    }
    stats_.stable_at_ms = -1;
  }
  stats_.disconnected_since_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(disconnected_since_.time_since_epoch()).count();
}

void session::flush_events() {
  if (!events_.empty()) sink_->push(events_);
}

void session::set_state(session_state next, const std::string& reason) {
  if (next == state_) return;
  announce_state(std::exchange(state_, next), reason);
}

void session::announce_state(session_state previous, const std::string& reason) {
  session_event e(event_kind::state);
  e.state = state_;
  e.previous = previous;
  if (!reason.empty()) {
    e.detail = std::make_unique<event_detail>();
    e.detail->reason = reason;
  }
  emit(std::move(e));
}

void session::start(bool connect_now) {
  failure corrupt;
  // The disk worker reports through this. A worker left to finish on its own after an end past
  // its deadline (end()) may report after the session, or even its io_context, is gone: the
  // gate drops a report once the io_context is being destroyed, and a report that reaches the io
  // thread runs only if the session still lives. What the worker holds for its reports never
  // keeps the session alive (weak references), so dropping one, on whatever thread, ends nothing.
  assert(!weak_from_this().expired() && "a session is owned by a shared_ptr (make_shared)");
  failure opened = outbox_.open(corrupt, [post = io_post_gate::to(io_), weak = weak_from_this()](std::function<void()> f) {
    post([weak, f = std::move(f)] {
      if (auto alive = weak.lock()) f();
    });
  });
  stats_.set_rare(&session_stats::rare_counters::torn_bytes_truncated, outbox_.torn_bytes());
  if (corrupt) {
    auto e = session_event::with_detail(event_kind::error);
    e.detail->error = std::make_unique<failure>(corrupt);
    emit(std::move(e));
  }
  if (opened) {
    enter_failed(opened, 1006);
    flush_events();
    return;
  }
  publish_outbox_stats();
  // Records recovered from disk are a busy outbox too: a restarted process waits for 'drain'
  // to know that what the previous one left behind has been delivered.
  if (outbox_.size()) outbox_was_busy_ = true;
  if (config_->resume.enabled && outbox_.durable()) {
    // The file holds the id as a JSON token: a number as written, a string quoted.
    auto stored = outbox_.load_resume_position();
    if (stored && resume_.restore(*stored)) {
      auto e = session_event::with_detail(event_kind::resume_info);
      e.detail->resumed_from = resume_.last_id();
      emit(std::move(e));
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
  const auto& urls = config_->urls;  // parsed by lib/ (WHATWG URL), assembled by the binding
  if (urls.empty()) {  // the binding refuses unusable URLs; this only guards the modulo below
    enter_failed(make_failure(failure_code::invalid_option, "no usable ws:// or wss:// URL"), 1006);
    return;
  }
  if (!ever_opened_ && attempts() == 0) mark_disconnected();  // the first attempt starts the clock
  connection_params params;
  if (occasional_ && occasional_->redirect_to) {
    // Following a redirect continues the same attempt: same attempt number, same proxy.
    occasional_->redirected_url = std::move(occasional_->redirect_to);  // (the proxy stays that of attempt_turn_)
  } else {
    stats_.attempt.store(attempts() + 1, std::memory_order_relaxed);
    attempt_turn_ = static_cast<std::uint32_t>(url_turn_++ % urls.size());
    if (occasional_) occasional_->redirected_url.reset();
    redirects_followed_ = 0;
    redirect_left_origin_ = false;
  }
  const ws_url& url = attempt_url();
  params.url = url;
  if (attempt_turn_ < config_->proxies.size()) params.proxy = config_->proxies[attempt_turn_];
  params.target = url.target;
  params.headers = config_->headers;
  if (redirect_left_origin_) {
    // A redirect to another origin takes none of the configured headers along: any of them may
    // be a credential (Authorization, Cookie, X-Api-Key, …). The URL's were dropped when the
    // redirect was resolved.
    params.headers.clear();
  }
  params.protocols = config_->protocols;
  params.per_message_deflate = config_->per_message_deflate;
  params.max_message_size = config_->max_message_size;
  params.connect_timeout_ms = config_->connect_timeout_ms;
  params.tls_context = tls_context();
  params.tls = config_->tls;
  params.lane = lane_;
  resume_requested_ = false;
  const std::string& last_id = resume_.last_id();
  if (config_->resume.enabled && !last_id.empty()) {
    resume_requested_ = true;
    if (config_->resume.via == resume_via::query) {
      params.target = with_query_param(url.target, config_->resume.param, last_id);
    } else if (config_->resume.via == resume_via::header) {
      // The id comes from the network: a CR or LF in it would end the header line and let event
      // data write request lines of its own. An id HTTP cannot carry is not sent (EventSource
      // never adopts such ids either); the server then sees a fresh client.
      if (fits_header_value(last_id)) {
        params.headers.emplace_back(config_->resume.param, last_id);
      } else {
        resume_requested_ = false;
      }
    }
  }
  set_state(session_state::connecting);
  auto e = session_event::with_detail(event_kind::connecting);
  e.detail->attempt = attempts();
  e.detail->url = url.display;
  emit(std::move(e));
  if (const test_overrides* o = overrides_if_any(); o && o->make_transport) {
    auto stream = o->make_transport(params);
    conn_ = std::allocate_shared<connection>(pooled_allocator<connection>{}, io_, std::move(params), this, std::move(stream));
    conn_->start_connected();
    return;
  }
  // Kept as long as the connection: from a block_pool, not the io thread's arena (block_pool.hpp).
  conn_ = std::allocate_shared<connection>(pooled_allocator<connection>{}, io_, std::move(params), this);
  conn_->start();
}

bool session::follow_redirect(failure& cause) {
  if (redirects_followed_ >= config_->follow_redirects) {
    if (config_->follow_redirects > 0) {
      cause.message += " — after " + std::to_string(redirects_followed_) + " redirects (followRedirects: " +
                       std::to_string(config_->follow_redirects) + "); not following more";
    }
    return false;
  }
  std::string location;
  for (const auto& [name, value] : cause.headers) {
    if (iequals_ascii(name, "location")) location = value;
  }
  std::string error;
  auto target = resolve_redirect(attempt_url(), location, error);
  if (!target) {
    cause.message += " — cannot follow it: " + error + " (not retrying)";
    return false;
  }
  if (target->url.tls && !tls_context()) {  // the binding makes one whenever redirects are followed
    cause.message += " — cannot follow it to wss:// without TLS settings (not retrying)";
    return false;
  }
  ++redirects_followed_;
  redirect_left_origin_ = redirect_left_origin_ || !target->same_origin;
  occasional().redirect_to = std::make_unique<ws_url>(std::move(target->url));
  begin_attempt();
  return true;
}

void session::on_open(const open_info& info) {
  stats_.connects++;
  if (ever_opened_) stats_.reconnects++;
  stats_.disconnected_ms += ms_since(disconnected_since_);
  stats_.disconnected_since_ms = -1;
  set_state(session_state::open);
  auto e = session_event::with_detail(event_kind::open);
  e.detail->attempt = attempts();
  e.detail->url = attempt_url().display;
  e.detail->protocol = info.protocol;
  e.detail->reconnected = ever_opened_;
  if (resume_requested_) e.detail->resumed_from = resume_.last_id();
  emit(std::move(e));
  ever_opened_ = true;
  resume_.on_open(resume_requested_, steady_clock::now());

  // The attempt counter resets only once the connection has proved itself: when it ends
  // (mark_disconnected), and for stats() from the moment it is stable.
  const auto stable_at = steady_clock::now() + std::chrono::milliseconds(config_->reconnect.stable_after_ms);
  stability_pending_ = true;
  // Rounded up to the whole millisecond that stats() compares: stats() must not call the
  // connection stable before mark_disconnected, which reads it back, would.
  stats_.stable_at_ms = std::chrono::ceil<std::chrono::milliseconds>(stable_at.time_since_epoch()).count();

  if (config_->heartbeat.enabled) {
    arm_heartbeat(heartbeat_.start(steady_clock::now(), read_clocks()));
    watch_path();
    // Suspend/freeze detection is one timer per io thread, not one per socket (wake_service.hpp).
    if (wake_token_) wake_service::of(io_).unsubscribe(wake_token_);
    wake_token_ = wake_service::of(io_).subscribe(
        std::shared_ptr<wake_listener>(shared_from_this(), static_cast<wake_listener*>(this)));
  }

  if (config_->resume.enabled && config_->resume.via == resume_via::message && resume_requested_) {
    // The resume handshake goes first; the outbox flushes after it.
    std::string sync = config_->resume.param;
    std::string id_json = resume_.last_id_token();
    for (auto pos = sync.find("{{id}}"); pos != std::string::npos; pos = sync.find("{{id}}", pos + id_json.size())) {
      sync.replace(pos, 6, id_json);
    }
    conn_->send(false, sync, 0);
  }
  outbox_.rewind();
  pump();
  flush_events();
}

void session::on_closed(close_info info) {
  drop_connection();
  bool was_open = info.opened;
  if (was_open) mark_disconnected();
  auto verdict = classify_end({info.error, info.opened, info.code, info.reason}, config_->reconnect.stop_on_close_codes);
  failure& cause = verdict.error;
  if (verdict.redirect && state_ != session_state::closing && follow_redirect(cause)) {
    flush_events();
    return;
  }
  bool terminal = verdict.terminal;
  bool closing = state_ == session_state::closing;
  bool will_reconnect = !closing && !terminal && config_->reconnect.enabled;
  if (was_open) {
    auto e = session_event::with_detail(event_kind::disconnect);
    e.detail->code = info.code;
    e.detail->reason = info.reason;
    e.detail->was_clean = info.was_clean;
    e.detail->will_reconnect = will_reconnect;
    if (cause) e.detail->error = std::make_unique<failure>(cause);
    emit(std::move(e));
  }
  if (closing) {
    finish_closed(requested_close() ? requested_close()->code : 1000, info.reason);
  } else if (terminal) {
    enter_failed(cause, info.code);
  } else if (!config_->reconnect.enabled) {
    if (was_open) {
      finish_closed(info.code, info.reason);
    } else {
      enter_failed(cause, info.code);
    }
  } else {
    std::string reason = cause ? cause.message : "closed by the server with " + std::to_string(info.code);
    schedule_retry(cause, reason, verdict.min_delay_ms);
  }
  flush_events();
}

void session::schedule_retry(const failure& cause, const std::string& reason, std::int64_t min_delay_ms) {
  if (attempts() > config_->reconnect.max_retries) {
    auto f = make_failure(failure_code::retries_exhausted,
                          "gave up after " + std::to_string(attempts()) + " attempts (reconnect.maxRetries " +
                              std::to_string(config_->reconnect.max_retries) + "); last error: " + reason);
    f.status = cause.status;
    enter_failed(f, 1006);
    return;
  }
  auto delay = std::max(static_cast<std::int64_t>(reconnect_backoff().next_delay_ms()), min_delay_ms);
  set_state(session_state::reconnecting, reason);
  auto e = session_event::with_detail(event_kind::reconnecting);
  e.detail->attempt = attempts() + 1;
  e.detail->delay_ms = delay;
  e.detail->reason = reason;
  if (cause) e.detail->error = std::make_unique<failure>(cause);
  emit(std::move(e));
  retry_timer().expires_after(std::chrono::milliseconds(delay));
  retry_timer().async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->state_ != session_state::reconnecting) return;
    self->begin_attempt();
    self->flush_events();
  });
}

void session::drop_connection(std::uint16_t close_code) {
  heartbeat_due().cancel();
  if (path_token_) unwatch_network(io_, std::exchange(path_token_, 0));
  if (wake_token_) {
    wake_service::of(io_).unsubscribe(wake_token_);
    wake_token_ = 0;
  }
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
  std::string reason = error.message;  // the 'close' event's reason too
  // Failed from here on (nothing more is accepted), but announced with the end: 'failed' comes in
  // one batch with 'close', once the outbox's directory is unlocked, so a 'failed' listener may
  // start over on it at once.
  const session_state previous = std::exchange(state_, session_state::failed);
  auto cause = std::make_shared<failure>(std::move(error));
  end(close_code, reason, [this, previous, cause, reason] {
    announce_state(previous, reason);
    auto e = session_event::with_detail(event_kind::failed);
    e.detail->error = std::make_unique<failure>(std::move(*cause));
    emit(std::move(e));
  });
}

void session::finish_closed(int code, const std::string& reason) {
  if (state_ == session_state::closing) {
    end(code, reason, {});  // after close(): closing until the end
    return;
  }
  // The server ended the connection (reconnect: false): closed from here on, announced with the
  // end as after a failure.
  const session_state previous = std::exchange(state_, session_state::closed);
  end(code, reason, [this, previous] { announce_state(previous, {}); });
}

void session::end(int code, const std::string& reason, std::function<void()> announce) {
  if (ending_) return;  // already waiting for the disk: its finish ends the session
  if (!disk_settled_ && outbox_.durable()) {
    // A file outbox's disk work ends on its worker first (the last group commit, the resume
    // position, deletions), so release_resources() finds nothing left to wait for. Otherwise it
    // waits on the io thread, which every socket shares: a slow disk stalled every socket's
    // heartbeat until it answered (an offline close() under 3 s fdatasyncs: the heartbeats of a
    // socket beside it stopped for 4.5 s; a failure or a server's close the same). A disk that
    // does not answer within close_drain_limit is not waited for at all: the end goes on
    // without it, and the worker finishes the outbox's close once it answers.
    disk_settled_ = true;
    ending_ = true;
    drop_connection();  // nothing may arrive from a connection while the session ends
    // Weak: the disk worker holds it until its disk answers, which may be never (the timer
    // below holds the session meanwhile).
    auto finish = [weak = weak_from_this(), code, reason, announce = std::move(announce)](bool disk_answered) {
      // The worker's report or the deadline, whichever comes first, finishes; the other (or
      // one after a teardown) finds the session ended.
      auto self = weak.lock();
      if (!self || !self->ending_) return;
      self->ending_ = false;
      self->disk_unanswered_ = !disk_answered;
      self->end(code, reason, announce);
      self->flush_events();
    };
    resume_.adopt_parsed_as_delivered();  // as release_resources() does, so its write is queued now
    persist_event_id();
    settle_disk([finish] { finish(true); });
    retry_timer().expires_after(close_drain_limit);
    retry_timer().async_wait([self = shared_from_this(), finish](const error_code& ec) {
      if (!ec) finish(false);
    });
    return;
  }
  if (announce) announce();
  if (state_ == session_state::closing) set_state(session_state::closed);
  release_resources();
  auto c = session_event::with_detail(event_kind::close);
  c.detail->code = code;
  c.detail->reason = reason;
  emit(std::move(c));
}

void session::settle_disk(std::function<void()> finish) {
  if (!ending_) return;
  if (outbox_.needs_sync() || outbox_.sync_in_flight()) {
    // Every commit first, the one in flight and one for what arrived meanwhile (behind it, or
    // inline when nothing needs one after all); an ending session accepts no new sends, so this
    // ends.
    outbox_.start_sync([weak = weak_from_this(), finish = std::move(finish)]() mutable {
      if (auto self = weak.lock()) self->settle_disk(std::move(finish));
    });
    return;
  }
  outbox_.after_disk_work(std::move(finish));  // then whatever else the worker has queued
}

void session::release_resources() {
  cancel_retry_timer();
  if (occasional_ && occasional_->id_persist_timer) occasional_->id_persist_timer->cancel();
  drop_connection();
  // Every message parsed so far is queued for JavaScript ahead of the 'close' event this ends
  // with, so at a regular end the newest parsed id is the one to resume from. (Teardown, where
  // queued events are dropped, stores only what JavaScript received: see shutdown().)
  resume_.adopt_parsed_as_delivered();
  persist_event_id();
  // Sends still waiting for the group commit resolve (or fail) before the end; past the end's
  // deadline for its disk, only those the disk has decided (end()).
  sync_outbox(!disk_unanswered_);
  std::vector<send_outcome> rejected;
  outbox_.abandon(rejected);
  if (disk_unanswered_) {
    outbox_.close_without_waiting(rejected);
  } else {
    outbox_.close();
  }
  report_rejected(rejected);
  publish_outbox_stats();
  stats_.buffered_amount = 0;
}

void session::close(std::uint16_t code, std::string reason) {
  if (!requested_close()) occasional().close = std::make_unique<close_request>(close_request{code, reason});
  switch (state_) {
    case session_state::open:
      set_state(session_state::closing, reason);
      if (outbox_.needs_sync()) schedule_sync();  // on the disk worker; its completion pumps
      // What is queued goes out before the close frame (on_written keeps pumping), but a
      // connection that stopped draining does not hold close() for longer than this.
      retry_timer().expires_after(close_drain_limit);
      retry_timer().async_wait([self = shared_from_this()](const error_code& ec) {
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
  cancel_retry_timer();
  if (const close_request* request = requested_close()) {
    conn_->close(request->code, request->reason);
  } else {
    conn_->close(1000, {});
  }
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
      cancel_retry_timer();
      begin_attempt();
      break;
    default:
      break;  // closing, closed, failed: close() is final
  }
  flush_events();
}

void session::shutdown() {
  events_.clear();
  cancel_retry_timer();
  if (occasional_ && occasional_->id_persist_timer) occasional_->id_persist_timer->cancel();
  drop_connection();
  persist_event_id();
  outbox_.close();
  state_ = session_state::closed;
  ending_ = false;
}

}  // namespace rws
