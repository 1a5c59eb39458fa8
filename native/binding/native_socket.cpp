#include "binding/native_socket.hpp"

#include <optional>
#include <string_view>

#include <boost/asio/post.hpp>

#include "binding/addon.hpp"
#include "binding/config_reader.hpp"
#include "common/buffer_recycler.hpp"
#include "protocol/frame_codec.hpp"

namespace rws::binding {

void native_socket::define(Napi::Env env, Napi::Object exports) {
  exports.Set("attach", Napi::Function::New<&native_socket::attach>(env, "attach"));
  auto methods = Napi::Object::New(env);
  methods.Set("send", Napi::Function::New<&call<&native_socket::send>>(env, "send"));
  methods.Set("stage", Napi::Function::New<&call<&native_socket::stage>>(env, "stage"));
  methods.Set("writeNow", Napi::Function::New<&call<&native_socket::write_now>>(env, "writeNow"));
  methods.Set("close", Napi::Function::New<&call<&native_socket::close>>(env, "close"));
  methods.Set("reconnect", Napi::Function::New<&call<&native_socket::reconnect>>(env, "reconnect"));
  methods.Set("connect", Napi::Function::New<&call<&native_socket::connect>>(env, "connect"));
  methods.Set("ref", Napi::Function::New<&call<&native_socket::ref>>(env, "ref"));
  methods.Set("unref", Napi::Function::New<&call<&native_socket::unref>>(env, "unref"));
  methods.Set("stats", Napi::Function::New<&call<&native_socket::stats>>(env, "stats"));
  methods.Set("dispose", Napi::Function::New<&call<&native_socket::dispose>>(env, "dispose"));
  methods.Set("simulateSuspend", Napi::Function::New<&call<&native_socket::simulate_suspend>>(env, "simulateSuspend"));
  methods.Set("heartbeatEvents", Napi::Function::New<&call<&native_socket::heartbeat_events>>(env, "heartbeatEvents"));
  methods.Set("keyPrefix", Napi::Function::New<&call<&native_socket::key_prefix>>(env, "keyPrefix"));
  exports.Set("socketMethods", methods);
}

template <Napi::Value (native_socket::*Method)(const Napi::CallbackInfo&)>
Napi::Value native_socket::call(const Napi::CallbackInfo& info) {
  void* self = nullptr;
  if (napi_unwrap(info.Env(), info.This(), &self) != napi_ok || self == nullptr) {
    throw Napi::TypeError::New(info.Env(), "resilient-ws: called on something that is not a ResilientSocket");
  }
  return (static_cast<native_socket*>(self)->*Method)(info);
}

// attach(socket, config, autoConnect): the socket gets its native side, and its events go to it
// through lib/'s handler (setEventHandler), which calls socket._onEvents(batch, lengths).
Napi::Value native_socket::attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* owner = env.GetInstanceData<addon>();
  auto socket = info[0].As<Napi::Object>();
  std::shared_ptr<const session_config> config = owner->configs.share(read_session_config(info[1].As<Napi::Object>()));
  bool auto_connect = info[2].As<Napi::Boolean>().Value();

  std::shared_ptr<asio::ssl::context> tls;
  // A redirect may lead from ws:// to wss://, so following redirects needs TLS ready too.
  bool any_tls = config->follow_redirects > 0;
  for (const auto& url : config->urls) any_tls = any_tls || url.tls;
  if (any_tls) {
    std::string error;
    tls = owner->tls_contexts.share(config->tls, error, owner->default_trust_store);
    if (!tls) {
      auto err = Napi::TypeError::New(env, "resilient-ws: " + error);
      err.Set("code", Napi::String::New(env, "ERR_INVALID_OPTION"));
      throw err;
    }
  }

  auto self = std::unique_ptr<native_socket>(new native_socket(owner));
  napi_ref wrap = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_wrap(env, socket, self.get(), &native_socket::finalize, nullptr, &wrap),
                       env.Undefined());
  // The wrap owns it now: finalize() deletes it once the socket is collected.
  native_socket* s = self.release();
  s->wrap_ = wrap;
  s->start(env, std::move(config), std::move(tls), auto_connect);
  return env.Undefined();
}

void native_socket::start(Napi::Env env, std::shared_ptr<const session_config> config,
                          std::shared_ptr<asio::ssl::context> tls, bool auto_connect) {
  // Only where the connection sends the bytes as they are: TLS (also reachable by a redirect)
  // and permessage-deflate copy the payload into the frame plain, so they would unmask it again,
  // and a file outbox logs the plain bytes.
  premask_staged_ = config->outbox.path.empty() && !tls && !config->per_message_deflate;
  events_ = js_event_queue::create(env, addon_->dispatcher(env), wrap_);
  // Acquired last, and given back if the session cannot be made (out of memory), so the addon
  // never holds a half-built socket. (A throw from create() above leaves the wrap weak, and the
  // socket is collected as usual.)
  auto runtime = addon_->acquire_runtime(this);
  try {
    session_ = std::make_shared<session>(runtime->context(), std::move(config), events_, std::move(tls));
  } catch (...) {
    addon_->release_runtime(this);  // release() lets go only with a session
    throw;
  }
  events_->link(session_);
  post([s = session_, auto_connect] { s->start(auto_connect); });
}

void native_socket::finalize(napi_env env, void* data, void* /*hint*/) {
  auto* self = static_cast<native_socket*>(data);
  napi_ref wrap = self->wrap_;
  // The socket is released by now (nothing collects it while the event queue holds the wrap),
  // but the destructor would release the queue's hold on the wrap otherwise: delete it after.
  delete self;
  napi_delete_reference(env, wrap);
}

native_socket::~native_socket() { release(); }

template <class Fn>
void native_socket::post(Fn&& fn) {
  boost::asio::post(addon_->runtime().context(), std::forward<Fn>(fn));
}

void native_socket::require_live(const Napi::Env& env) const {
  if (!session_) {
    auto err = Napi::Error::New(env, "resilient-ws: this socket is closed and its native handle released");
    err.Set("code", Napi::String::New(env, "ERR_CLOSED"));
    throw err;
  }
}

namespace {

// A batch of one message goes to the socket from the JavaScript thread up to this size; larger
// ones come through writeNow() instead, before they are staged.
constexpr std::size_t max_direct_payload = 16 * 1024;
// writeNow() frames into the environment's one frame buffer, which keeps its size: larger
// messages are staged and written by the io thread.
constexpr std::size_t max_write_now_payload = 256 * 1024;

// A large copy goes into recycled memory whose pages are already mapped (buffer_recycler.hpp).
void copy_bytes(const void* data, std::size_t size, std::string& out) {
  out = buffer_recycler::instance().copy(static_cast<const char*>(data), size);
}

// The bytes of a TypedArray (any kind), DataView or ArrayBuffer, where they are; nullopt for
// anything else.
std::optional<std::string_view> binary_view(const Napi::Value& data) {
  if (data.IsTypedArray()) {
    auto view = data.As<Napi::TypedArray>();
    return std::string_view(static_cast<const char*>(view.ArrayBuffer().Data()) + view.ByteOffset(), view.ByteLength());
  }
  if (data.IsDataView()) {
    auto view = data.As<Napi::DataView>();
    return std::string_view(static_cast<const char*>(view.ArrayBuffer().Data()) + view.ByteOffset(), view.ByteLength());
  }
  if (data.IsArrayBuffer()) {
    auto bytes = data.As<Napi::ArrayBuffer>();
    return std::string_view(static_cast<const char*>(bytes.Data()), bytes.ByteLength());
  }
  return std::nullopt;
}

// A copy of the bytes of a TypedArray, DataView or ArrayBuffer; false for anything else.
bool binary_bytes(const Napi::Value& data, std::string& out) {
  const auto view = binary_view(data);
  if (view) copy_bytes(view->data(), view->size(), out);
  return view.has_value();
}

}  // namespace

// stage(data): copies a large binary payload now — its only copy before the io thread frames
// it — so the caller may reuse the buffer at once, and keeps it for this tick's send() batch,
// where `true` in the data slot stands for the next staged payload. lib/ would otherwise copy
// it into a JS snapshot and send() would copy it again (bench send-64k-bin).
Napi::Value native_socket::stage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_live(env);
  outgoing_message m;
  if (!binary_bytes(info[0], m.data)) {
    Napi::TypeError::New(env, "resilient-ws: stage(data) takes a TypedArray, DataView or ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  m.binary = true;
  if (premask_staged_) {
    // Masked here, while the copy is still in this core's cache, with a key of this thread's
    // own: the io thread then writes the bytes as they are instead of making another pass over
    // them (bench send-64k: that pass was ~14 % of the io thread).
    const std::uint32_t key = addon_->js_mask_keys.next();
    remask_in_place(m.data.data(), m.data.size(), 0, key);
    m.masked_with = key;
  }
  if (!staged_) staged_ = std::make_unique<std::vector<outgoing_message>>();
  staged_->push_back(std::move(m));
  return env.Undefined();
}

// send(firstRequest, items, mayWriteHere) → seq or 0: items alternate data (string → text, Buffer/TypedArray →
// binary, true → the next payload stage() copied) and key (string, or undefined to generate).
// One post carries the whole batch. With mayWriteHere (JavaScript has seen 'open'), a batch of
// one small message may instead be written to the socket from here (send_direct): the result is
// then its seq, and its receipt is JavaScript's to settle ('written'); 0 means the receipt comes
// as an event.
Napi::Value native_socket::send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_live(env);
  auto first_request = static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value());
  auto items = info[1].As<Napi::Array>();
  std::vector<outgoing_message> batch;
  std::size_t staged_taken = 0;
  uint32_t n = items.Length();
  batch.reserve(n / 2);
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    Napi::Value data = items.Get(i);
    Napi::Value key = items.Get(i + 1);
    outgoing_message m;
    if (data.IsString()) {
      m.data = data.As<Napi::String>().Utf8Value();
    } else if (data.IsBoolean()) {
      if (staged_ && staged_taken < staged_->size()) m = std::move((*staged_)[staged_taken++]);
    } else {
      m.binary = binary_bytes(data, m.data);
    }
    if (key.IsString()) m.key = key.As<Napi::String>().Utf8Value();
    batch.push_back(std::move(m));
  }
  staged_.reset();  // emptied every tick: a socket that stages nothing keeps no list
  const bool may_write_here = info.Length() > 2 && info[2].ToBoolean().Value();  // JavaScript has seen 'open'
  if (may_write_here && lane() && batch.size() == 1 && staged_taken == 0 && batch.front().data.size() <= max_direct_payload &&
      batch.front().data.size() <= lane()->max_payload()) {
    // One message in this tick (an echo, a request): the socket may be free for this thread.
    bool handed_to_io = false;
    outgoing_message& m = batch.front();
    if (std::uint64_t seq = send_direct(m, m.data, first_request, handed_to_io)) {
      return Napi::Number::New(env, static_cast<double>(seq));
    }
    if (handed_to_io) return Napi::Number::New(env, 0);
  }
  session_->stats().outbox_size += batch.size();  // on its way: the session takes it over
  if (lane()) lane()->handed_over();       // nothing written directly overtakes it
  post([s = session_, batch = std::move(batch), first_request]() mutable { s->send(std::move(batch), first_request); });
  return Napi::Number::New(env, 0);
}

// writeNow(request, data, key, bytes) → seq, 0 or -1: a large send() with nothing queued before it in
// this tick, written to the socket from here when the socket is free for it (as ws writes from
// the JavaScript thread), and the io thread, with no part in it, leaves the cores to the
// application and the peer. A binary payload is framed and masked from the caller's buffer in
// one copy. seq: the kernel took it all (JavaScript settles the receipt, 'written'); 0: it took
// part, and the io thread writes the rest and reports the receipt; -1: the socket was not free
// or the message is too large for this way, nothing was taken (the caller queues it as usual).
Napi::Value native_socket::write_now(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_live(env);
  const Napi::Number not_taken = Napi::Number::New(env, -1);
  if (!lane() || staged_) return not_taken;
  outgoing_message m;  // a binary payload is copied into it only if the io thread takes it over
  std::string_view payload;
  if (info[1].IsString()) {
    // `bytes`: its UTF-8 length, which JavaScript has already counted; checked before encoding.
    const double length = info[3].As<Napi::Number>().DoubleValue();
    if (length > max_write_now_payload || length > static_cast<double>(lane()->max_payload())) return not_taken;
    m.data = info[1].As<Napi::String>().Utf8Value();
    if (m.data.size() > max_write_now_payload || m.data.size() > lane()->max_payload()) return not_taken;
    payload = m.data;
  } else {
    const auto bytes = binary_view(info[1]);
    if (!bytes || bytes->size() > max_write_now_payload || bytes->size() > lane()->max_payload()) return not_taken;
    m.binary = true;
    payload = *bytes;
  }
  if (info[2].IsString()) m.key = info[2].As<Napi::String>().Utf8Value();
  const auto request = static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value());
  bool handed_to_io = false;
  const std::uint64_t seq = send_direct(m, payload, request, handed_to_io);
  if (seq != 0) return Napi::Number::New(env, static_cast<double>(seq));
  return handed_to_io ? Napi::Number::New(env, 0) : not_taken;
}

std::uint64_t native_socket::send_direct(outgoing_message& message, std::string_view payload, std::uint64_t request,
                                         bool& handed_to_io) {
  std::string& frame = addon_->direct_frame;
  const auto r = lane()->try_write([&] {
    frame.clear();
    encode_client_frame(frame, message.binary ? opcode::binary : opcode::text, payload.data(), payload.size(),
                        addon_->js_mask_keys.next());
    return std::string_view(frame);
  });
  using kind = direct_lane::write_result::kind;
  if (r.what == kind::not_free) return 0;
  if (r.what == kind::written) {
    session_->stats().messages_out++;
    session_->stats().bytes_out += payload.size();
    return r.seq;
  }
  // The kernel took part of the frame: the io thread writes the rest before anything else, and
  // keeps the message for the next connection if this one ends first.
  handed_to_io = true;
  session_->stats().outbox_size += 1;
  if (message.data.data() != payload.data()) copy_bytes(payload.data(), payload.size(), message.data);
  post([s = session_, m = std::move(message), request, seq = r.seq, tail = frame.substr(r.written),
        generation = r.generation]() mutable { s->send_tail(std::move(m), request, seq, std::move(tail), generation); });
  return 0;
}

Napi::Value native_socket::key_prefix(const Napi::CallbackInfo& info) {
  if (!session_) return Napi::String::New(info.Env(), "");
  std::string_view prefix = session_->key_prefix();
  return Napi::String::New(info.Env(), prefix.data(), prefix.size());
}

Napi::Value native_socket::close(const Napi::CallbackInfo& info) {
  require_live(info.Env());
  auto code = static_cast<std::uint16_t>(info[0].As<Napi::Number>().Uint32Value());
  auto reason = info[1].As<Napi::String>().Utf8Value();
  post([s = session_, code, reason] { s->close(code, reason); });
  return info.Env().Undefined();
}

Napi::Value native_socket::reconnect(const Napi::CallbackInfo& info) {
  require_live(info.Env());
  post([s = session_] { s->reconnect(); });
  return info.Env().Undefined();
}

Napi::Value native_socket::connect(const Napi::CallbackInfo& info) {
  require_live(info.Env());
  post([s = session_] { s->connect(); });
  return info.Env().Undefined();
}

Napi::Value native_socket::ref(const Napi::CallbackInfo& info) {
  if (events_) events_->ref();
  return info.Env().Undefined();
}

Napi::Value native_socket::unref(const Napi::CallbackInfo& info) {
  if (events_) events_->unref();
  return info.Env().Undefined();
}

Napi::Value native_socket::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_live(env);
  auto out = Napi::Object::New(env);
  auto put = [&](const char* name, double value) { out.Set(name, Napi::Number::New(env, value)); };
  const session_stats& s = session_->stats();
  put("connects", static_cast<double>(s.connects.load()));
  put("reconnects", static_cast<double>(s.reconnects.load()));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  const auto stable_at = s.stable_at_ms.load();
  put("attempt", stable_at >= 0 && now_ms >= stable_at ? 0.0 : static_cast<double>(s.attempt.load()));
  auto rtt = s.last_rtt_us.load();
  out.Set("lastRtt", rtt < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(rtt) / 1000.0));
  double disconnected = static_cast<double>(s.disconnected_ms.load());
  if (auto since = s.disconnected_since_ms.load(); since >= 0) disconnected += static_cast<double>(now_ms - since);
  put("disconnectedMs", disconnected);
  put("messagesIn", static_cast<double>(s.messages_in.load()));
  put("bytesIn", static_cast<double>(s.bytes_in.load()));
  put("messagesOut", static_cast<double>(s.messages_out.load()));
  put("bytesOut", static_cast<double>(s.bytes_out.load()));
  using rare = session_stats::rare_counters;
  put("duplicatesDropped", static_cast<double>(s.read_rare(&rare::duplicates_dropped)));
  put("idGaps", static_cast<double>(s.read_rare(&rare::id_gaps)));
  put("idsMissing", static_cast<double>(s.read_rare(&rare::ids_missing)));
  put("outboxSize", static_cast<double>(s.outbox_size.load()));
  put("outboxBytes", static_cast<double>(s.outbox_bytes.load()));
  put("outboxDiskBytes", static_cast<double>(s.read_rare(&rare::outbox_disk_bytes)));
  put("outboxDropped", static_cast<double>(s.read_rare(&rare::outbox_dropped)));
  put("bufferedAmount", static_cast<double>(s.buffered_amount.load()));
  put("heartbeatsSent", static_cast<double>(s.heartbeats_sent.load()));
  put("wakeupsDetected", static_cast<double>(s.read_rare(&rare::wakeups_detected)));
  put("networkChanges", static_cast<double>(s.read_rare(&rare::network_changes)));
  put("tornBytesTruncated", static_cast<double>(s.read_rare(&rare::torn_bytes_truncated)));
  return out;
}

// heartbeatEvents(listened: boolean): whether the socket reports pongs as `heartbeat` events
// (also reported while the heartbeat diagnostics channel has subscribers).
Napi::Value native_socket::heartbeat_events(const Napi::CallbackInfo& info) {
  if (events_) events_->set_heartbeat_listened(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// For tests: from now on the wake detector's boot clock runs `ms` ahead, as after a suspend.
Napi::Value native_socket::simulate_suspend(const Napi::CallbackInfo& info) {
  require_live(info.Env());
  auto ms = info[0].As<Napi::Number>().Int64Value();
  post([s = session_, ms] {
    s->set_clock([ms] {
      auto now = read_system_clocks();
      now.boottime_ms += ms;
      return now;
    });
  });
  return info.Env().Undefined();
}

// Called by lib/ after the terminal 'close' event: the socket no longer holds the process, the
// io thread or any memory.
Napi::Value native_socket::dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

void native_socket::release() {
  staged_.reset();
  if (events_) {
    events_->release();
    events_.reset();
  }
  if (session_) {
    // The session's last reference is dropped on the io thread, where its timers live.
    post([s = std::move(session_)]() mutable { s.reset(); });
    session_.reset();
    addon_->release_runtime(this);  // held since start(), as long as the session
  }
}

void native_socket::teardown() { release(); }

}  // namespace rws::binding
