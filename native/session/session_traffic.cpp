// The traffic of an open session: inbound messages (control text, dedupe, backpressure), the
// heartbeat, and the outbound side (outbox pumped into the connection, receipts, group-commit
// syncs). session.cpp holds the state machine and the wiring; both implement class session.
#include "session/session.hpp"

#include <algorithm>
#include <iterator>

namespace rws {
namespace {

// Frames are taken from the outbox only while the socket's queue is below this, so a large
// backlog is written in steady slices instead of being copied into one huge buffer.
constexpr std::uint64_t write_high_water = 1u << 20;

// With the heartbeat off, how long a socket's sends must have been quiet before it gives back
// the buffers a burst grew (with the heartbeat on, once an interval: 15 s by default).
constexpr std::chrono::seconds idle_release_after{15};

}  // namespace

void session::pump() {
  if (!conn_ || !conn_->is_open()) return;
  std::uint64_t queued = 0;
  while (conn_->buffered_bytes() < write_high_water) {
    const outbox_item* item = outbox_.next_to_send();
    if (!item) break;
    conn_->send_shared(item->binary, item->payload, item->seq);
    queued += item->payload.size();
    stats_.messages_out++;
  }
  if (queued) stats_.bytes_out += queued;
  conn_->flush();
  stats_.buffered_amount = conn_->buffered_bytes();
  offer_lane();
}

void session::offer_lane() {
  // Not in the middle of a batch (accept_pumping pumps between slices): the rest of it must go
  // out before anything JavaScript writes later.
  if (lane_ && !accepting_batch_ && state_ == session_state::open && conn_ && conn_->is_open() && conn_->write_idle() &&
      !outbox_.has_unsent()) {
    lane_->set_io_idle();
  }
}

bool session::on_inbound(std::vector<inbound_event>& events) {
  bool replayed = resume_.on_data(steady_clock::now());
  std::uint64_t duplicates = 0;
  for (auto& event : events) {
    if (event.type == inbound_event::kind::pong) {
      handle_pong();
      continue;
    }
    stats_.messages_in++;
    stats_.bytes_in += event.payload.size();
    bool binary = event.type == inbound_event::kind::binary;
    std::string id;
    bool id_is_string = false;
    if (!binary) {
      if (handle_text_control(event)) continue;
      auto verdict = resume_.on_text(event.payload, id, id_is_string);
      if (verdict == resume_tracker::verdict::duplicate) {
        stats_.rare().duplicates_dropped++;
        ++duplicates;
        continue;
      }
      // A reset carries no event id; only such messages are checked, so the stream pays nothing.
      if (id.empty() && !config_->resume.reset_match.empty() && json_matches(event.payload, config_->resume.reset_match)) {
        auto reset = session_event::with_detail(event_kind::resume_reset);
        reset.detail->resumed_from = resume_.last_id();
        emit(std::move(reset));
      }
    }
    session_event e(event_kind::message);
    e.binary = binary;
    e.replayed = replayed;
    e.data = std::move(event.payload);
    e.id = std::move(id);
    e.id_is_string = id_is_string;
    emit(std::move(e));
  }
  if (duplicates) {
    // One event per read, not per duplicate: diagnostics sees every drop without a per-message cost.
    auto e = session_event::with_detail(event_kind::duplicates);
    e.detail->count = duplicates;
    emit(std::move(e));
  }
  if (resume_.enabled()) {
    if (resume_.replaying() && conn_ && !conn_->has_pending_input()) resume_.on_drained();
    stats_.set_rare(&session_stats::rare_counters::id_gaps, resume_.id_gaps());
    stats_.set_rare(&session_stats::rare_counters::ids_missing, resume_.ids_missing());
  }
  flush_events();
  if (sink_->backlog_bytes() >= max_js_backlog) {
    reading_paused_ = true;
    return false;
  }
  return true;
}

bool session::handle_text_control(inbound_event& event) {
  const auto& hb = config_->heartbeat;
  if (hb.enabled && hb.message_mode && event.payload == hb.pong) {
    handle_pong();
    return true;
  }
  const auto& ob = config_->outbox;
  if (ob.guarantee == delivery_guarantee::acked && json_matches(event.payload, ob.ack_match)) {
    // An acknowledgement: consumed here, never delivered as a message.
    if (auto key = find_json_field(event.payload, ob.ack_key_path)) {
      std::vector<sent_receipt> delivered;
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

void session::note_delivered_id(const std::string& id, bool is_string) {
  // Only ids JavaScript has received are stored: a process that dies with events still queued
  // for JavaScript resumes before them. The tracker groups them (resume_tracker::store_delay).
  // A close waiting for its disk (finish_closed) already took every parsed id as delivered and
  // queued its store: a later report would only queue another write for the release to wait on.
  if (disk_settled_) return;
  if (!resume_.on_delivered(id, is_string) || !outbox_.durable()) return;
  auto& timer = occasional().id_persist_timer;
  if (!timer) timer = std::make_unique<io_timer>(io_);
  timer->expires_after(resume_tracker::store_delay);
  timer->async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->persist_event_id();
  });
}

void session::persist_event_id() {
  if (!outbox_.durable()) return;
  resume_.store_if_changed();  // through the store function given to resume_ (the file write)
}

void session::handle_pong() {
  auto rtt = heartbeat_.on_pong(steady_clock::now());
  if (!rtt) return;
  stats_.last_rtt_us = static_cast<std::int64_t>(*rtt * 1000);
  arm_heartbeat(heartbeat_.after_answer(read_clocks()));
  if (!sink_->wants_heartbeat_events()) return;
  auto e = session_event::with_detail(event_kind::heartbeat);
  e.detail->rtt_ms = *rtt;
  emit(std::move(e));
}

void session::arm_heartbeat(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    timer_wheel::of(io_).arm(heartbeat_due(), timer_wheel::at_once);  // "probe at once" stays at once
    return;
  }
  // Idle sockets' heartbeats fire together: the deadline is rounded up to a grid that every
  // session of the process shares, so one expiry (one wake-up of the io thread) sends the pings
  // of all sockets due in that slot and their pongs come back together, instead of one wake-up
  // per socket spread over the interval (bench idle-5000). The grid is at most 1/20 of the
  // shorter of interval and timeout, so detection stays within a few % of interval + timeout.
  using std::chrono::nanoseconds;
  const auto& hb = config_->heartbeat;
  const std::int64_t shortest_ms = std::max<std::int64_t>(1, std::min<std::int64_t>(hb.interval_ms, hb.timeout_ms));
  const nanoseconds grid = std::chrono::milliseconds(std::clamp<std::int64_t>(shortest_ms / 20, 1, 250));
  const nanoseconds due = (steady_clock::now() + delay).time_since_epoch();
  const nanoseconds rounded = ((due + grid - nanoseconds(1)) / grid) * grid;
  timer_wheel::of(io_).arm(heartbeat_due(),
                           steady_clock::time_point(std::chrono::duration_cast<steady_clock::duration>(rounded)));
}

void session::on_due() {
  auto keep = shared_from_this();  // on_heartbeat may end what holds the session
  if (config_->heartbeat.enabled) {
    on_heartbeat();
  } else {
    release_idle_memory();
  }
}

void session::release_idle_memory() {
  if (conn_) conn_->release_idle_buffers();
  if (outbox_.size() == 0) outbox_.release_idle_memory();
}

void session::watch_path() {
  if (path_token_) unwatch_network(io_, path_token_);
  path_token_ = watch_network(io_, std::shared_ptr<network_listener>(shared_from_this(), static_cast<network_listener*>(this)));
}

void session::on_network_change(const network_change& change) {
  if (state_ != session_state::open || !conn_ || !conn_->is_open()) return;
  // With a proxy the path that matters is the one to the proxy: the far end of our socket.
  if (!change.affects(conn_->local_endpoint().address(), conn_->remote_endpoint().address())) return;
  stats_.rare().network_changes++;
  heartbeat_.ask_probe();
  arm_heartbeat(std::chrono::milliseconds(0));
}

void session::on_wake() {
  if (state_ != session_state::open || !conn_ || !conn_->is_open()) return;
  heartbeat_due().cancel();
  on_heartbeat(/*woke_elsewhere=*/true);
}

void session::on_heartbeat(bool woke_elsewhere) {
  if (state_ != session_state::open || !conn_ || !conn_->is_open()) return;
  if (reading_paused_) {
    // JavaScript has not taken the backlog yet, so nothing is being read: silence proves
    // nothing. The heartbeat starts over once reading resumes.
    arm_heartbeat(heartbeat_.start(steady_clock::now(), read_clocks()));
    return;
  }
  // Once an interval: what a burst of sends grew goes back if nothing is on its way now (no
  // churn on a busy socket, and no timer of its own).
  release_idle_memory();
  auto step = heartbeat_.on_timer(steady_clock::now(), conn_->last_inbound(), read_clocks(), woke_elsewhere);
  if (step.woke) stats_.rare().wakeups_detected++;
  if (step.what == heartbeat_step::action::dead) {
    conn_->fail(4000, make_failure(failure_code::heartbeat_timeout,
                                   "no answer to the heartbeat within " + std::to_string(config_->heartbeat.timeout_ms) +
                                       " ms (silent for " + std::to_string(step.silent.count()) +
                                       " ms); the connection is dead"));
    flush_events();
    return;
  }
  if (step.what == heartbeat_step::action::probe) {
    stats_.heartbeats_sent++;
    if (config_->heartbeat.message_mode) {
      conn_->send(false, config_->heartbeat.message, 0);
      conn_->flush();
    } else {
      conn_->ping("rws");
    }
  }
  arm_heartbeat(step.next_check);
  flush_events();
}

void session::on_written(std::uint64_t tag) {
  std::vector<sent_receipt> delivered;
  if (outbox_.durable() || config_->outbox.guarantee != delivery_guarantee::written) {
    // In memory with 'written' the receipt below is this moment; otherwise say it separately.
    outbox_.first_written_upto(tag, delivered);
    report_sent(delivered, receipt_status::handed_to_kernel);
  }
  outbox_.written_upto(tag, delivered);
  if (!outbox_.durable()) report_sent(delivered, receipt_status::written);
  check_drain();
  if (state_ == session_state::closing && !close_frame_sent_) {
    continue_closing();
  } else {
    pump();
  }
  if (!config_->heartbeat.enabled && state_ == session_state::open && !heartbeat_due().armed()) {
    // No heartbeat looks back at this socket: give back what this burst grew once it has been
    // quiet for a while (whole seconds, so sockets that wrote together share a slot).
    const auto due = std::chrono::ceil<std::chrono::seconds>(steady_clock::now() + idle_release_after);
    timer_wheel::of(io_).arm(heartbeat_due(), steady_clock::time_point(due));
  }
  flush_events();
}

void session::report_sent(std::vector<sent_receipt>& receipts, receipt_status status) {
  // Consecutive requests with consecutive seqs travel as one range event.
  event_detail* run = nullptr;
  for (const auto& o : receipts) {
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
    run->key_prefix.assign(outbox_.key_prefix());
    emit(std::move(e));
  }
  receipts.clear();
}

void session::report_rejected(std::vector<send_outcome>& outcomes) {
  for (auto& o : outcomes) {
    if (o.request == 0) continue;
    auto e = session_event::with_detail(event_kind::send_failed);
    e.detail->first_request = o.request;
    e.detail->error = std::make_unique<failure>(std::move(o.error));
    emit(std::move(e));
  }
  outcomes.clear();
}

void session::publish_outbox_stats(std::size_t taken_over) {
  const std::size_t size = outbox_.size();
  // Unsigned wrap-around makes this the signed change (size - published - taken_over).
  stats_.outbox_size += static_cast<std::uint64_t>(size) - published_outbox_size_ - taken_over;
  published_outbox_size_ = size;
  stats_.outbox_bytes = outbox_.bytes();
  stats_.set_rare(&session_stats::rare_counters::outbox_disk_bytes, outbox_.disk_bytes());
  stats_.set_rare(&session_stats::rare_counters::outbox_dropped, outbox_.evicted());
}

void session::check_drain() {
  publish_outbox_stats();
  if (outbox_.size() == 0 && outbox_was_busy_) {
    outbox_was_busy_ = false;
    emit(session_event(event_kind::drain));
  }
}

void session::send(std::vector<outgoing_message> batch, std::uint64_t first_request) {
  if (lane_) lane_->taken_over();
  accept_batch(batch, first_request);
}

void session::send_tail(outgoing_message message, std::uint64_t request, std::uint64_t seq, std::string tail,
                        std::uint64_t generation) {
  lane_->taken_over();
  if (!conn_ || conn_->lane_generation() != generation || !conn_->still_writes()) {
    // The connection it began on is gone (its partial frame with it): the message goes out
    // whole, on this connection or the next, like any other.
    std::vector<outgoing_message> batch;
    batch.push_back(std::move(message));
    accept_batch(batch, request);
    return;
  }
  // Nothing of ours was written since JavaScript began the frame (the lane saw to that), and
  // the outbox had nothing unsent: the rest of the frame goes first, then what queued meanwhile.
  const std::size_t bytes = message.data.size();
  outbox_.accept_on_wire(std::move(message), request, seq);
  outbox_was_busy_ = true;
  stats_.messages_out++;
  stats_.bytes_out += bytes;
  lane_->take_tail(generation);
  conn_->send_tail_first(tail, seq);
  publish_outbox_stats(1);
  stats_.buffered_amount = conn_->buffered_bytes();
  flush_events();
}

void session::accept_batch(std::vector<outgoing_message>& batch, std::uint64_t first_request) {
  accepting_batch_ = true;
  const std::size_t handed_over = batch.size();
  std::vector<sent_receipt> accepted;
  std::vector<send_outcome> rejected;
  if (state_ == session_state::closing || state_ == session_state::closed || state_ == session_state::failed) {
    // A failure or the server's close reaches JavaScript a moment later (with a file outbox, once
    // its disk is done): sends meanwhile are told which end it was.
    const char* why = requested_close()                  ? "send() after close()"
                      : state_ == session_state::failed ? "send() after the socket failed; create a new one"
                                                         : "send() after the server closed the socket (reconnect: false); create a new one";
    for (std::size_t i = 0; i < batch.size(); ++i) {
      rejected.push_back({first_request + i, 0, make_failure(failure_code::closed, why)});
    }
  } else {
    accept_pumping(batch, first_request, accepted, rejected);
    if (outbox_.size()) outbox_was_busy_ = true;
    // With a file outbox a send resolves once durable; in memory it resolves once written, and
    // in 'acked' mode once the server acknowledges its key.
    if (outbox_.needs_sync()) {
      schedule_sync();
    } else if (outbox_.durable() && config_->outbox.guarantee == delivery_guarantee::written) {
      report_sent(accepted, receipt_status::persisted);
    }
  }
  report_rejected(rejected);
  publish_outbox_stats(handed_over);
  accepting_batch_ = false;
  pump();
  flush_events();
}

void session::accept_pumping(std::vector<outgoing_message>& batch, std::uint64_t first_request,
                             std::vector<sent_receipt>& accepted, std::vector<send_outcome>& rejected) {
  // While connected (in memory), messages go straight out and only waiting ones count against
  // maxMessages (outbox::waiting). A batch larger than the room left is taken in slices that
  // fit, each pumped onto the wire before the next, so a tick's worth of small messages from a
  // ws-style sender is not refused just because it arrived in one batch. Offline, with a file
  // outbox (only durable records go out), or when the wire is full, the rest goes in one
  // accept() and meets the usual limits.
  const bool straight_out = state_ == session_state::open && conn_ && conn_->is_open() && !outbox_.durable();
  std::size_t room = straight_out ? outbox_.room() : 0;
  if (room == 0 || room >= batch.size()) {
    outbox_.accept(batch, first_request, accepted, rejected);
    return;
  }
  std::size_t at = 0;
  while (at < batch.size()) {
    std::size_t take = batch.size() - at;
    if (room > 0 && room < take) take = room;
    std::vector<outgoing_message> slice(std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(at)),
                                        std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(at + take)));
    outbox_.accept(slice, first_request + at, accepted, rejected);
    at += take;
    if (at < batch.size()) {
      pump();
      room = outbox_.room();
    }
  }
}

void session::schedule_sync() {
  if (sync_scheduled_) return;
  sync_scheduled_ = true;
  // Posted, not run here: send() batches that JavaScript queued meanwhile run first and share
  // this one fsync. The fdatasync runs on the outbox's disk worker; the io thread goes on, and
  // sends that arrive before it finishes share the next one.
  asio::post(io_, [self = shared_from_this()] {
    // Weak: the disk worker holds it (see start()).
    self->outbox_.start_sync([weak = self->weak_from_this()] {
      auto self = weak.lock();
      if (!self) return;
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
  std::vector<sent_receipt> persisted;
  std::vector<send_outcome> rejected;
  outbox_.sync_appended(persisted, rejected, wait);
  if (config_->outbox.guarantee == delivery_guarantee::written) report_sent(persisted, receipt_status::persisted);
  report_rejected(rejected);
  check_drain();
}

void session::resume_reading() {
  if (!reading_paused_ || !conn_) return;
  reading_paused_ = false;
  conn_->resume_reading();
}

}  // namespace rws
