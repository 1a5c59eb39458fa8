#pragma once
// The native side of one JavaScript socket, wrapped onto the socket object itself (napi_wrap):
// no handle object of its own per socket, and the wrap's one reference is also what keeps the
// socket alive while its events flow (js_event_queue). Every function posts a closure to the io
// thread; nothing here touches socket state directly (the stats are atomics, the key prefix is
// fixed). After dispose() it holds nothing, and every function that needs the session throws a
// clear error instead of crashing (uWebSockets.js style); the rest do nothing.
#include <napi.h>

#include <memory>
#include <string_view>
#include <vector>

#include "binding/js_event_queue.hpp"
#include "transport/io_runtime.hpp"
#include "session/session.hpp"

namespace rws::binding {

class addon;

class native_socket {
 public:
  // exports.attach(socket, config, autoConnect) and exports.socketMethods: the functions lib/
  // installs on the socket's prototype, each called with the socket as `this`.
  static void define(Napi::Env env, Napi::Object exports);
  ~native_socket();
  native_socket(const native_socket&) = delete;
  native_socket& operator=(const native_socket&) = delete;

  // Environment teardown, after the addon has shut the session down: drop everything.
  void teardown();
  // The session, for the addon's teardown (which shuts every session down in one bounded step).
  std::shared_ptr<session> session_handle() const { return session_; }

 private:
  explicit native_socket(addon* owner) : addon_(owner) {}
  static Napi::Value attach(const Napi::CallbackInfo& info);
  static void finalize(napi_env env, void* data, void* hint);
  // A socketMethods function: Method of the native_socket wrapped onto `this`.
  template <Napi::Value (native_socket::*Method)(const Napi::CallbackInfo&)>
  static Napi::Value call(const Napi::CallbackInfo& info);
  // Once wrapped: the event queue holds the socket through the wrap, then the session starts.
  void start(Napi::Env env, std::shared_ptr<const session_config> config, std::shared_ptr<asio::ssl::context> tls,
             bool auto_connect);

  Napi::Value send(const Napi::CallbackInfo& info);
  Napi::Value stage(const Napi::CallbackInfo& info);
  Napi::Value write_now(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value reconnect(const Napi::CallbackInfo& info);
  Napi::Value connect(const Napi::CallbackInfo& info);
  Napi::Value ref(const Napi::CallbackInfo& info);
  Napi::Value unref(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value simulate_suspend(const Napi::CallbackInfo& info);
  Napi::Value heartbeat_events(const Napi::CallbackInfo& info);
  Napi::Value key_prefix(const Napi::CallbackInfo& info);
  // One message written to the socket from here (transport/direct_lane.hpp), framed from
  // `payload` (its bytes, wherever they are; `message` gives its kind and key): its seq when the
  // kernel took the whole frame; 0 when the kernel took part of it (`handed_to_io`: the io thread
  // now has the rest, and the message, copied from `payload` if it does not hold it) or when the
  // lane was not free (nothing taken: the caller sends it the usual way).
  std::uint64_t send_direct(outgoing_message& message, std::string_view payload, std::uint64_t request,
                            bool& handed_to_io);

  void require_live(const Napi::Env& env) const;
  template <class Fn>
  void post(Fn&& fn);
  void release();

  addon* addon_ = nullptr;
  napi_ref wrap_ = nullptr;  // napi_wrap's, deleted by finalize(); strong while events_ holds it
  // Via post() to the io thread; here only its stats and key prefix. While it is set, this socket
  // holds the addon's io runtime (acquire_runtime): the io thread runs while a socket lives.
  std::shared_ptr<session> session_;
  std::shared_ptr<js_event_queue> events_;
  // Large binary payloads copied by stage() during this tick, taken in order by the next send().
  // Made by the first stage() of a tick and dropped by the send() that takes it: a socket that
  // stages nothing, as an idle one, keeps a null pointer, not an empty vector (bench idle-5000).
  std::unique_ptr<std::vector<outgoing_message>> staged_;
  bool premask_staged_ = false;  // stage() masks what it copies (in-memory outbox)
  // The session's lane, when JavaScript may write directly (the session made it, or not, at
  // construction and never changes it); null once released.
  direct_lane* lane() const { return session_ ? session_->lane().get() : nullptr; }
};

}  // namespace rws::binding
