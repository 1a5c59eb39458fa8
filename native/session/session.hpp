#pragma once
// The supervisor of one ResilientSocket: it outlives connection attempts and owns the state
// machine, backoff and failure handling (§5; the rules are in failure_policy.hpp), the
// heartbeat, resume (§6; resume_tracker.hpp) and the outbox (§7). Everything runs on the io
// thread; the binding posts every call from JavaScript. session.cpp is the state machine and the
// wiring; session_traffic.cpp the messages in and out of an open connection and the heartbeat.
// The connection reports (connection_handler) and the session decides; see the reporting rule
// at the top of transport/connection.hpp.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "session/backoff.hpp"
#include "session/failure_policy.hpp"
#include "transport/connection.hpp"
#include "transport/io_timer.hpp"
#include "transport/network_watch.hpp"
#include "transport/timer_wheel.hpp"
#include "session/heartbeat.hpp"
#include "resume/resume_tracker.hpp"
#include "outbox/outbox.hpp"
#include "session/session_config.hpp"
#include "session/session_event.hpp"
#include "session/session_stats.hpp"
#include "session/wake_detector.hpp"
#include "session/wake_service.hpp"

namespace rws {

class session : public std::enable_shared_from_this<session>,
                public connection_handler,
                private wake_listener,
                private network_listener,
                private timer_wheel::entry {
 public:
  // `config` may be shared with other sessions (the binding gives sockets made with equal options
  // one copy); it never changes.
  session(asio::io_context& io, std::shared_ptr<const session_config> config, std::shared_ptr<event_sink> sink,
          std::shared_ptr<asio::ssl::context> tls_context);
  ~session() override;
  // The io thread's context the session runs on (any thread may post to it).
  asio::io_context& io_context() const { return io_; }

  // Opens the outbox (and the stored resume position), then connects unless autoConnect is off.
  void start(bool connect_now);
  void connect();
  void send(std::vector<outgoing_message> batch, std::uint64_t first_request);
  // A one-message send() whose frame the JavaScript thread began writing itself
  // (transport/direct_lane.hpp): `tail` is the rest of that frame, for the connection of
  // `generation`; `message` goes out whole if that connection is gone.
  void send_tail(outgoing_message message, std::uint64_t request, std::uint64_t seq, std::string tail,
                 std::uint64_t generation);
  // Shared with the binding (set when JavaScript may write to the socket itself: an in-memory
  // outbox in 'written' mode without keyField), null otherwise. Made with the session.
  const std::shared_ptr<direct_lane>& lane() const { return lane_; }
  // Generated idempotency keys: key_prefix() + "-" + 12 hex digits of seq. Fixed at
  // construction, so the binding may read it on the JavaScript thread.
  std::string_view key_prefix() const { return outbox_.key_prefix(); }
  // The counters stats() reports: atomics, written on the io thread, read on any. The binding
  // also counts sends on their way into outbox_size.
  session_stats& stats() { return stats_; }
  void close(std::uint16_t code, std::string reason);
  void reconnect();
  void resume_reading();
  // JavaScript received the message with this id (the binding reports the last id of each
  // batch); this, not the newest id parsed, is the resume position stored on disk.
  void note_delivered_id(const std::string& id, bool is_string);
  // Environment teardown: no more events; the outbox and resume position are synced to disk.
  void shutdown();
  // The wake detectors' clock, replaceable so a test can simulate a suspend. The io thread's
  // shared detector (wake_service) reads it too, so this reaches every session of the thread.
  void set_clock(std::function<clock_reading()> clock) {
    wake_service::of(io_).set_clock(clock);
    overrides().clock = std::move(clock);
  }
  // Tests: every attempt runs over the transport this makes (already connected, no resolve or
  // connect) instead of a real socket. Unset in production.
  using transport_factory = std::function<std::unique_ptr<transport>(const connection_params&)>;
  void set_transport_factory(transport_factory make) { overrides().make_transport = std::move(make); }

 private:
  void on_open(const open_info& info) override;
  bool on_inbound(std::vector<inbound_event>& events) override;
  void on_written(std::uint64_t tag) override;
  void on_write_idle() override { offer_lane(); }
  void on_closed(close_info info) override;

  void begin_attempt();
  // The URL of the current attempt: configured (config_->urls[attempt_turn_]) or redirected.
  // Valid only once begin_attempt() has started one.
  const ws_url& attempt_url() const {
    return occasional_ && occasional_->redirected_url ? *occasional_->redirected_url : config_->urls[attempt_turn_];
  }
  // A 3xx answer with followRedirects: true when the next attempt was started towards Location;
  // false with `cause` updated to say why it cannot be followed (the end is then terminal).
  bool follow_redirect(failure& cause);
  void schedule_retry(const failure& cause, const std::string& reason, std::int64_t min_delay_ms = 0);
  void enter_failed(failure error, int close_code);
  void finish_closed(int code, const std::string& reason);
  // The end of every way out (close(), a failure, the server's close without reconnect): in
  // state closing, failed or closed; emits what `announce` emits, gives everything back and
  // emits 'close' {code, reason}, with a file outbox once its disk work has ended on its worker.
  void end(int code, const std::string& reason, std::function<void()> announce);
  // Ending with a file outbox: runs `finish` on the io thread once every commit is decided and
  // the disk worker has finished what was queued (end()).
  void settle_disk(std::function<void()> finish);
  void release_resources();
  // Leaves the current attempt: at once, or with a best-effort close frame carrying close_code.
  void drop_connection(std::uint16_t close_code = 0);
  void set_state(session_state next, const std::string& reason = {});
  // Emits the change from `previous` to the current state.
  void announce_state(session_state previous, const std::string& reason);
  // The open connection (if any) is gone: starts the time-without-connection clock, and if the
  // connection had stayed open for stableAfter, the attempt counter and backoff start over.
  void mark_disconnected();
  void pump();
  bool handle_text_control(inbound_event& event);
  void handle_pong();
  void arm_heartbeat(std::chrono::milliseconds delay);
  void on_heartbeat(bool woke_elsewhere = false);
  // Write buffers and an emptied outbox queue that a burst grew go back if nothing is on its way.
  void release_idle_memory();
  // The io thread's wake detector saw a suspend or a frozen process: probe at once.
  void on_wake() override;
  // rtnetlink: a change that may concern the open connection's path probes it at once.
  void watch_path();
  void on_network_change(const network_change& change) override;
  void continue_closing();
  void send_close_frame();
  void persist_event_id();
  void report_sent(std::vector<sent_receipt>& receipts, receipt_status status);
  void report_rejected(std::vector<send_outcome>& outcomes);
  void check_drain();
  // The io thread has nothing to write on an open connection: JavaScript may write directly.
  void offer_lane();
  void accept_batch(std::vector<outgoing_message>& batch, std::uint64_t first_request);
  // Publishes the outbox counters to stats(); `taken_over` sends of a batch the binding counted
  // as on their way are now in the outbox (or rejected) and leave the in-flight part.
  void publish_outbox_stats(std::size_t taken_over = 0);
  void schedule_sync();
  void accept_pumping(std::vector<outgoing_message>& batch, std::uint64_t first_request,
                      std::vector<sent_receipt>& accepted, std::vector<send_outcome>& rejected);
  void sync_outbox(bool wait = true);  // wait: close and teardown (see outbox::sync_appended)
  void emit(session_event event) { events_.push_back(std::move(event)); }
  void flush_events();

  asio::io_context& io_;
  std::shared_ptr<const session_config> config_;
  std::shared_ptr<event_sink> sink_;
  // Part of the session's own allocation: written here, read (and outbox_size counted) by the
  // binding on the JavaScript thread while it holds the session.
  session_stats stats_;
  std::vector<session_event> events_;  // emitted during the current io step, pushed at its end

  std::shared_ptr<connection> conn_;  // the current attempt, null between attempts
  // Attempts since the last stable connection: the stats' counter is the session's own (the io
  // thread writes it, stats() reads it), not a copy of a field kept here as well.
  std::uint64_t attempts() const { return stats_.attempt.load(std::memory_order_relaxed); }
  std::uint32_t url_turn_ = 0;        // every attempt moves to the next URL (wraps: a modulo)
  std::uint32_t attempt_turn_ = 0;    // the current attempt's index in config_->urls and .proxies
  // What a session rarely needs, in one block made by the first of them: an idle ws:// socket
  // keeps one null pointer, not eight (5,000 idle sockets: memory). Each part is made when first
  // needed; a socket with TLS makes the block at construction, for its TLS context.
  struct close_request {
    std::uint16_t code;
    std::string reason;
  };
  // What set_clock() and set_transport_factory() replace.
  struct test_overrides {
    std::function<clock_reading()> clock;
    transport_factory make_transport;
  };
  struct occasional_parts {
    // followRedirects: the URL a 3xx answer sent us to (the next attempt goes there at once), and
    // the current attempt's URL when a redirect gave it. How many redirects this chain followed,
    // and whether it left the first origin (credentials off), are with the small fields below.
    std::unique_ptr<ws_url> redirect_to;
    std::unique_ptr<ws_url> redirected_url;
    // The backoff delay; while closing, the drain deadline. A socket whose first attempt opened
    // never waits on it.
    std::unique_ptr<io_timer> retry_timer;
    std::unique_ptr<io_timer> id_persist_timer;  // made by the first id to store
    std::unique_ptr<close_request> close;        // made by close()
    std::unique_ptr<test_overrides> overrides;
    // The reconnect curve (reconnect_backoff()): made with the first retry, or when a stable
    // connection ends (which arms its immediate retry). A connection that never ends needs none.
    std::unique_ptr<backoff> reconnect_curve;
    // wss:// (or following redirects): the binding's TLS context, shared by sockets with the
    // same TLS options. Set at construction; a plain ws:// socket has none.
    std::shared_ptr<asio::ssl::context> tls_context;
  };
  std::unique_ptr<occasional_parts> occasional_;
  occasional_parts& occasional() {
    if (!occasional_) occasional_ = std::make_unique<occasional_parts>();
    return *occasional_;
  }
  const close_request* requested_close() const { return occasional_ ? occasional_->close.get() : nullptr; }
  const std::shared_ptr<asio::ssl::context>& tls_context() const {
    static const std::shared_ptr<asio::ssl::context> none;
    return occasional_ ? occasional_->tls_context : none;
  }
  steady_clock::time_point disconnected_since_ = steady_clock::now();
  backoff& reconnect_backoff();  // made if need be (occasional_parts::reconnect_curve)
  io_timer& retry_timer() {
    auto& timer = occasional().retry_timer;
    if (!timer) timer = std::make_unique<io_timer>(io_);
    return *timer;
  }
  void cancel_retry_timer() {
    if (occasional_ && occasional_->retry_timer) occasional_->retry_timer->cancel();
  }
  // The heartbeat's next look: the session is itself its entry on the io thread's shared
  // timer_wheel (no Asio timer per socket, and no pointer back to the session). With the
  // heartbeat off, the same entry is when an idle socket gives back what a burst of sends grew
  // (release_idle_memory), which the heartbeat does otherwise.
  timer_wheel::entry& heartbeat_due() { return *this; }
  void on_due() override;
  std::uint64_t path_token_ = 0;  // watch_network()'s, while open with the heartbeat on
  heartbeat heartbeat_;  // decides; this class owns the deadline (heartbeat_due()) and does what it says
  std::uint64_t wake_token_ = 0;  // subscribed to wake_service while open with a heartbeat
  test_overrides& overrides() {
    auto& parts = occasional().overrides;
    if (!parts) parts = std::make_unique<test_overrides>();
    return *parts;
  }
  const test_overrides* overrides_if_any() const { return occasional_ ? occasional_->overrides.get() : nullptr; }
  clock_reading read_clocks() const {
    const test_overrides* o = overrides_if_any();
    return o && o->clock ? o->clock() : read_system_clocks();
  }

  outbox outbox_;
  std::shared_ptr<direct_lane> lane_;
  std::size_t published_outbox_size_ = 0;  // the outbox's share of stats_.outbox_size

  resume_tracker resume_;  // position, dedupe, gaps, replay phase, when to store (resume_tracker.hpp)

  // The small fields, together so they pack (each alone between pointers took 8 bytes).
  session_state state_ = session_state::idle;
  std::uint32_t redirects_followed_ = 0;
  bool redirect_left_origin_ = false;
  bool ever_opened_ = false;
  bool stability_pending_ = false;  // opened, and mark_disconnected has not judged it yet
  bool accepting_batch_ = false;    // accept_batch() is running: the lane is not offered meanwhile
  bool outbox_was_busy_ = false;
  bool sync_scheduled_ = false;    // a group-commit fsync is posted
  bool close_frame_sent_ = false;  // close(): queued messages first, then the close frame
  // This attempt asked the server to resume after resume_.last_id() (no message arrives between
  // asking and 'open', so the id is still the one asked with).
  bool resume_requested_ = false;
  bool reading_paused_ = false;
  bool disk_settled_ = false;  // ending: waiting (or waited) for the file outbox's disk (end())
  bool ending_ = false;        // end() waits for the disk: its finish has not run
  bool disk_unanswered_ = false;  // end() stopped waiting for the disk at its deadline
};

}  // namespace rws
