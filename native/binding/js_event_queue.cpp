#include "binding/js_event_queue.hpp"

#include "binding/addon.hpp"
#include "binding/message_runs.hpp"
#include "common/buffer_recycler.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace rws::binding {
namespace {

// Deliveries of at least this many events are freed on the io thread (see deliver()).
constexpr std::size_t dispose_on_io_thread_min = 128;

napi_value make_string(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

napi_value make_number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value make_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

// A Buffer of V8's own memory holding a copy of `data`. Not an external Buffer adopting the
// payload (no copy): Node keeps a weak handle on each external Buffer, which makes it survive
// young-generation GCs, so a stream of large messages ended up in full mark-compacts — 26 of them
// and 2 scavenges for 30,000 64 KiB messages, against 0 and 119 for ws, and ~15 % of the
// receive profile (bench recv-64k-bin). A copy dies young like ws's Buffers; the payload's memory
// goes to the io thread's next large message (deliver(), common/buffer_recycler.hpp), so the io
// thread does not write into freshly faulted pages.
napi_value make_buffer(napi_env env, std::string& data) {
  napi_value v = nullptr;  // left null if V8 refuses the Buffer: every later N-API call rejects it
  void* copy;
  napi_create_buffer_copy(env, data.size(), data.data(), &copy, &v);
  return v;
}

// lib/ catches listener exceptions itself, so an exception pending here is a bug in lib/ or V8
// refusing an allocation: surfaced as an uncaught exception, never swallowed.
void surface_pending_exception(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return;
  napi_value error;
  napi_get_and_clear_last_exception(env, &error);
  napi_fatal_exception(env, error);
}

napi_value make_error(napi_env env, const std::unique_ptr<failure>& error) {
  if (!error || !*error) {
    napi_value v;
    napi_get_null(env, &v);
    return v;
  }
  const failure& f = *error;
  napi_value obj;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "code", make_string(env, std::string(failure_code_name(f.code))));
  napi_set_named_property(env, obj, "message", make_string(env, f.message));
  if (f.status) napi_set_named_property(env, obj, "status", make_number(env, f.status));
  if (!f.headers.empty()) {
    napi_value headers;
    napi_create_object(env, &headers);
    for (const auto& [name, value] : f.headers) {
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      napi_set_named_property(env, headers, lower.c_str(), make_string(env, value));
    }
    napi_set_named_property(env, obj, "headers", headers);
  }
  if (!f.reason.empty()) napi_set_named_property(env, obj, "reason", make_string(env, f.reason));
  if (f.retry_after_ms >= 0) {
    napi_set_named_property(env, obj, "retryAfter", make_number(env, static_cast<double>(f.retry_after_ms)));
  }
  if (f.close_code) napi_set_named_property(env, obj, "closeCode", make_number(env, f.close_code));
  return obj;
}

// Appends one event to the flat array; the layout per kind is mirrored in lib/event-codes.js.
// Messages that join a run never come here.
void append_event(napi_env env, napi_value array, uint32_t& index, session_event& e) {
  auto put = [&](napi_value v) { napi_set_element(env, array, index++, v); };
  auto kind = static_cast<std::uint32_t>(e.kind);
  if (e.kind == event_kind::message) {
    bool with_id = !e.id.empty();
    put(make_number(env, with_id ? 16 : kind));
    put(e.binary ? make_buffer(env, e.data) : make_string(env, e.data));
    if (with_id) {
      put(make_string(env, e.id));
      put(make_bool(env, e.replayed));
    }
    return;
  }
  put(make_number(env, kind));
  if (e.kind == event_kind::state) {  // its detail, only when the change has a reason
    put(make_string(env, state_name(e.state)));
    put(make_string(env, state_name(e.previous)));
    put(e.detail && !e.detail->reason.empty() ? make_string(env, e.detail->reason) : make_undefined(env));
    return;
  }
  // Kinds without fields (e.g. drain) carry no detail; binding a reference to *nullptr is UB
  // even unread (UBSan, npm run test:asan).
  if (!e.detail) return;
  const event_detail& d = *e.detail;
  switch (e.kind) {
    case event_kind::connecting:
      put(make_number(env, static_cast<double>(d.attempt)));
      put(make_string(env, d.url));
      break;
    case event_kind::open:
      put(make_number(env, static_cast<double>(d.attempt)));
      put(make_string(env, d.url));
      put(make_string(env, d.protocol));
      put(make_bool(env, d.reconnected));
      put(d.resumed_from.empty() ? make_undefined(env) : make_string(env, d.resumed_from));
      break;
    case event_kind::disconnect:
      put(make_number(env, d.code));
      put(make_string(env, d.reason));
      put(make_bool(env, d.was_clean));
      put(make_bool(env, d.will_reconnect));
      put(make_error(env, d.error));
      break;
    case event_kind::reconnecting:
      put(make_number(env, static_cast<double>(d.attempt)));
      put(make_number(env, static_cast<double>(d.delay_ms)));
      put(make_string(env, d.reason));
      put(make_error(env, d.error));
      break;
    case event_kind::heartbeat:
      put(make_number(env, d.rtt_ms));
      break;
    case event_kind::ack:
      put(make_string(env, d.key));
      break;
    case event_kind::failed:
    case event_kind::error:
      put(make_error(env, d.error));
      break;
    case event_kind::close:
      put(make_number(env, d.code));
      put(make_string(env, d.reason));
      break;
    case event_kind::sent:
      put(make_number(env, static_cast<double>(d.first_request)));
      put(make_number(env, static_cast<double>(d.count)));
      put(make_number(env, static_cast<double>(d.first_seq)));
      put(make_number(env, static_cast<double>(d.status)));
      put(make_string(env, d.key_prefix));
      break;
    case event_kind::send_failed:
      put(make_number(env, static_cast<double>(d.first_request)));
      put(make_error(env, d.error));
      break;
    case event_kind::resume_info:
      put(make_string(env, d.resumed_from));
      break;
    case event_kind::resume_reset:
      put(make_string(env, d.resumed_from));
      break;
    case event_kind::duplicates:
      put(make_number(env, static_cast<double>(d.count)));
      break;
    default:
      break;
  }
}

}  // namespace

std::shared_ptr<js_event_queue> js_event_queue::create(Napi::Env env, std::shared_ptr<js_dispatcher> dispatcher,
                                                       napi_ref target) {
  // One allocation for the queue and its count: one queue per socket.
  auto queue = std::make_shared<js_event_queue>(made_by_create{}, std::move(dispatcher));
  if (napi_reference_ref(env, target, nullptr) != napi_ok) {
    throw Napi::Error::New(env, "resilient-ws: cannot create the event bridge");
  }
  queue->target_ = target;
  queue->ref();
  return queue;
}

void js_event_queue::push(std::vector<session_event>& batch) {
  if (batch.empty()) return;
  std::uint64_t cost = batch_cost(batch);
  {
    std::lock_guard lock(mutex());
    if (closed_) {
      batch.clear();
      return;
    }
    pending_cost_ += cost;
    backlog_.fetch_add(cost, std::memory_order_relaxed);
    // The batch is kept whole: appending its events to one growing vector would copy them and
    // double that vector's capacity now and then, memory batch_cost would not see.
    pending_.push_back(std::move(batch));
    batch.clear();
    if (scheduled_) return;  // one wake-up for everything that arrives until JavaScript runs
    scheduled_ = true;
    scheduled_self_ = shared_from_this();
  }
  // JavaScript is woken with the lock released: on a shared core it may run the moment it is
  // woken, and deliver() would then wait for this lock (two more context switches per wake-up).
  // Only this thread pushes, and nothing delivers this queue before it is scheduled.
  if (dispatcher_->schedule(this)) return;
  // The environment is going away: nothing pushed from now on can be delivered.
  std::shared_ptr<js_event_queue> not_taken;  // released after the lock (never the last reference)
  batch_list dropped;                         // freed after it too
  std::lock_guard lock(mutex());
  not_taken = std::move(scheduled_self_);
  closed_ = true;
  dropped.swap(pending_);
}

void js_event_queue::run(napi_env env) {
  if (env) {
    deliver(env);
    return;
  }
  // Environment going away: the events are dropped with the queue.
  std::shared_ptr<js_event_queue> self;
  std::lock_guard lock(mutex());
  self = std::move(scheduled_self_);
}

void js_event_queue::deliver(napi_env env) {
  std::vector<std::vector<session_event>> batches;
  std::uint64_t cost = 0;
  std::shared_ptr<js_event_queue> self;  // this queue lives to the end of the call
  {
    std::lock_guard lock(mutex());
    self = std::move(scheduled_self_);
    batches.swap(pending_);
    cost = pending_cost_;
    pending_cost_ = 0;
    scheduled_ = false;
  }
  std::uint64_t backlog_before = backlog_.fetch_sub(cost, std::memory_order_relaxed);
  if (batches.empty() || !target_) return;
  std::size_t events = 0;
  for (const auto& batch : batches) events += batch.size();

  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value array;
  napi_create_array_with_length(env, events * 2, &array);
  uint32_t index = 0;
  const session_event* last_with_id = nullptr;
  for (auto b = batches.rbegin(); b != batches.rend() && !last_with_id; ++b) {
    for (auto it = b->rbegin(); it != b->rend() && !last_with_id; ++it) {
      if (it->kind == event_kind::message && !it->id.empty()) last_with_id = &*it;
    }
  }
  std::string delivered_id = last_with_id ? last_with_id->id : std::string();
  bool delivered_id_is_string = last_with_id && last_with_id->id_is_string;
  message_runs runs;
  auto end_run = [&] {
    if (runs.run_empty()) return;
    const bool binary = runs.binary();
    napi_value value;
    const std::uint32_t count = runs.take(env, value);
    if (count == 1) {
      napi_set_element(env, array, index++, make_number(env, static_cast<double>(event_kind::message)));
      napi_set_element(env, array, index++, value);
      return;
    }
    napi_set_element(env, array, index++, make_number(env, binary ? 18 : 17));  // KIND.BINARY_RUN / TEXT_RUN
    napi_set_element(env, array, index++, value);
    napi_set_element(env, array, index++, make_number(env, count));
  };
  for (auto& batch : batches) {
    for (auto& e : batch) {
      if (joins_run(e)) {
        if (!runs.accepts(e)) end_run();
        runs.add(e);
      } else {
        end_run();
        append_event(env, array, index, e);
      }
    }
  }
  end_run();
  napi_value args[2] = {array, runs.lengths(env)};
  // Every payload is a JS value now: large ones' memory goes to the io thread's next large message.
  auto& recycler = buffer_recycler::instance();
  for (auto& batch : batches) {
    for (auto& e : batch) recycler.give(std::move(e.data));  // small ones: a capacity check
  }
  // The events and their payloads were allocated by the io thread; freed here, every message's
  // blocks would go back to the io thread's malloc arena under its lock, one by one, from another
  // core (bench recv-64-text). A large delivery goes back for the io thread to free all at once;
  // a small one is freed here, where that costs less than waking the io thread for it (an echo:
  // one message per delivery; the extra wake-up measured +5 µs per round trip pinned).
  if (events >= dispose_on_io_thread_min) free_on_io_thread(std::move(batches));
  batches.clear();
  // The native side of the backlog is gone (converted to JS values above), so reading resumes
  // now, while the listeners run, not after them: the io thread refills while JavaScript works
  // instead of both waiting for each other.
  if (backlog_before >= max_js_backlog) on_io_thread([](session& s) { s.resume_reading(); });
  if (runs.failed()) {
    // V8 refused a Buffer. Most often the environment is being torn down (worker.terminate():
    // Node may still run queued deliveries while JavaScript can no longer run), and the events
    // go with it; an exception (allocation failure) is surfaced like any other.
    surface_pending_exception(env);
    napi_close_handle_scope(env, scope);
    return;
  }
  // Runs take fewer elements than their events: cut the holes off the end.
  napi_set_named_property(env, array, "length", make_number(env, index));
  // lib/'s one handler, with the socket as `this`: it calls the socket's _onEvents, so nothing is
  // kept per socket for the call and nothing is looked up by name here.
  napi_value target, handler, result;
  napi_get_reference_value(env, target_, &target);
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  napi_status status = napi_generic_failure;
  if (data && !static_cast<addon*>(data)->event_handler.IsEmpty()) {
    handler = static_cast<addon*>(data)->event_handler.Value();
    status = napi_call_function(env, target, handler, 2, args, &result);
  }
  if (status == napi_pending_exception) surface_pending_exception(env);
  napi_close_handle_scope(env, scope);
  // Only a batch JavaScript ran to the end counts as received. lib/ catches listener exceptions
  // itself, so anything but napi_ok means the environment is going away (worker terminated),
  // or the socket's _onEvents was replaced by something that throws, and the batch may have been
  // cut short.
  if (status == napi_ok && !delivered_id.empty()) {
    on_io_thread([id = std::move(delivered_id), is_string = delivered_id_is_string](session& s) {
      s.note_delivered_id(id, is_string);
    });
  }
}

template <class Fn>
void js_event_queue::on_io_thread(Fn fn) {
  auto s = session_.lock();
  if (!s) return;
  // To the session's own io thread (alive while the session is). Moved, not copied: the io
  // thread must drop the session's last reference, never this thread.
  asio::io_context& io = s->io_context();
  asio::post(io, [s = std::move(s), fn = std::move(fn)] { fn(*s); });
}

void js_event_queue::free_on_io_thread(batch_list batches) {
  // Freed where they were allocated (see deliver()); with the io thread gone, here.
  if (auto r = dispatcher_->runtime()) asio::post(r->context(), [done = std::move(batches)] {});
}

void js_event_queue::ref() {
  if (holding_ || !target_) return;
  holding_ = true;
  dispatcher_->hold();
}

void js_event_queue::unref() {
  if (!holding_) return;
  holding_ = false;
  dispatcher_->let_go();
}

void js_event_queue::release() {
  batch_list dropped;  // freed after the lock, which every queue of the environment shares
  {
    std::lock_guard lock(mutex());
    closed_ = true;
    dropped.swap(pending_);
  }
  unref();
  if (target_) napi_reference_unref(dispatcher_->env(), target_, nullptr);
  target_ = nullptr;
}

}  // namespace rws::binding
