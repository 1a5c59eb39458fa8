#pragma once
// Per-environment state of the addon (no statics: each worker thread has its own). Destruction
// order: sockets are torn down first (their sessions are dropped on the io thread), then the
// io runtime (stops and joins the io thread).
#include <napi.h>
#include <openssl/types.h>

#include <chrono>
#include <memory>
#include <unordered_set>

#include "binding/js_dispatcher.hpp"
#include "session/config_cache.hpp"
#include "transport/io_runtime.hpp"
#include "transport/mask_keys.hpp"
#include "transport/tls_context_cache.hpp"

namespace rws::binding {

class native_socket;

class addon : public Napi::Addon<addon> {
 public:
  addon(Napi::Env env, Napi::Object exports);
  ~addon();

  // The io thread, started with the first live socket.
  std::shared_ptr<io_runtime> acquire_runtime(native_socket* socket);
  // Stops the io thread when the last live socket lets go.
  void release_runtime(native_socket* socket);
  // The io thread's runtime, for a socket between acquire_runtime() and release_runtime(); a
  // socket keeps no pointer of its own to it (5,000 idle sockets: memory).
  io_runtime& runtime() const { return *runtime_; }

  // The one wake-up channel to JavaScript that every socket's events share, made with the first.
  std::shared_ptr<js_dispatcher> dispatcher(Napi::Env env);

  // lib/'s function that hands a socket's batch to it: called with the socket as `this`
  // (js_event_queue::deliver). One per environment, set when lib/ loads.
  Napi::FunctionReference event_handler;
  // Trusted by TLS contexts without tls.ca: Node's default CAs, handed over once per environment
  // by lib/trust-store.js (setDefaultCa). nullptr until then: OpenSSL's default paths.
  std::shared_ptr<X509_STORE> default_trust_store;
  // The JS thread's masking keys (native_socket::stage masks large binaries as it copies them).
  mask_keys js_mask_keys;
  std::string direct_frame;  // the frame native_socket::send_direct writes, reused
  config_cache configs;      // sockets made with equal options share one session_config
  tls_context_cache tls_contexts;  // and sockets with equal TLS settings one SSL_CTX

  // Longest wait for every session's outbox sync at environment teardown.
  static constexpr std::chrono::milliseconds shutdown_limit{2000};

 private:
  // setDefaultCa(pemBundle: string, opensslDefaultPaths: boolean): builds default_trust_store
  Napi::Value set_default_ca(const Napi::CallbackInfo& info);
  // setHeartbeatSubscribed(subscribed: boolean): the heartbeat diagnostics channel's state
  Napi::Value set_heartbeat_subscribed(const Napi::CallbackInfo& info);
  Napi::Value set_event_handler(const Napi::CallbackInfo& info);
  static void on_env_teardown(void* self);
  void teardown();

  std::unordered_set<native_socket*> live_;  // sockets that hold the runtime
  std::shared_ptr<io_runtime> runtime_;      // destroyed after live_ is empty
  std::shared_ptr<js_dispatcher> dispatcher_;
  bool heartbeat_subscribed_ = false;  // for the dispatcher, which is made with the first socket
  bool torn_down_ = false;
  Napi::Env env_;
};

}  // namespace rws::binding
