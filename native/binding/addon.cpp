#include "binding/addon.hpp"

#include <vector>

#include "binding/native_socket.hpp"
#include "transport/transport.hpp"

namespace rws::binding {

addon::addon(Napi::Env env, Napi::Object exports) : env_(env) {
  native_socket::define(env, exports);
  DefineAddon(exports, {InstanceMethod<&addon::set_default_ca>("setDefaultCa"),
                        InstanceMethod<&addon::set_heartbeat_subscribed>("setHeartbeatSubscribed"),
                        InstanceMethod<&addon::set_event_handler>("setEventHandler")});
  // Exiting the process or terminating a worker runs this: every session syncs its outbox and the
  // io thread stops before the environment disappears.
  napi_add_env_cleanup_hook(env, on_env_teardown, this);
}

addon::~addon() {
  teardown();
  napi_remove_env_cleanup_hook(env_, on_env_teardown, this);
}

Napi::Value addon::set_default_ca(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string pem = info[0].As<Napi::String>().Utf8Value();
  bool openssl_paths = info[1].As<Napi::Boolean>().Value();
  std::string error;
  auto store = make_trust_store(pem, openssl_paths, error);
  if (!store) {
    auto err = Napi::Error::New(env, "resilient-ws: " + error);
    err.Set("code", Napi::String::New(env, "ERR_INVALID_OPTION"));
    throw err;
  }
  default_trust_store = std::move(store);
  return env.Undefined();
}

Napi::Value addon::set_heartbeat_subscribed(const Napi::CallbackInfo& info) {
  heartbeat_subscribed_ = info[0].As<Napi::Boolean>().Value();
  if (dispatcher_) dispatcher_->set_heartbeat_subscribed(heartbeat_subscribed_);  // else when made
  return info.Env().Undefined();
}

Napi::Value addon::set_event_handler(const Napi::CallbackInfo& info) {
  event_handler = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

void addon::on_env_teardown(void* self) { static_cast<addon*>(self)->teardown(); }

void addon::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  auto sockets = live_;
  // Every session syncs its outbox and stops, all in one step on the io thread, bounded as a
  // whole: exit or worker termination never waits longer than shutdown_limit for them, however
  // many sockets there are (then io_runtime::exit_limit for the thread itself).
  std::vector<std::shared_ptr<session>> sessions;
  for (auto* socket : sockets) {
    if (auto s = socket->session_handle()) sessions.push_back(std::move(s));
  }
  if (runtime_ && !sessions.empty()) {
    // The references move into the step and are dropped there, on the io thread: a session must
    // never be destroyed here, after its io_context may be gone (found by ASan).
    runtime_->run_and_wait(
        [sessions = std::move(sessions)]() mutable {
          for (const auto& s : sessions) s->shutdown();
          sessions.clear();
        },
        shutdown_limit);
  }
  for (auto* socket : sockets) socket->teardown();
  live_.clear();
  runtime_.reset();
}

std::shared_ptr<js_dispatcher> addon::dispatcher(Napi::Env env) {
  if (!dispatcher_) {
    dispatcher_ = js_dispatcher::create(env);
    dispatcher_->set_heartbeat_subscribed(heartbeat_subscribed_);
    dispatcher_->set_runtime(runtime_);
  }
  return dispatcher_;
}

std::shared_ptr<io_runtime> addon::acquire_runtime(native_socket* socket) {
  if (!runtime_) {
    runtime_ = std::make_shared<io_runtime>();
    if (dispatcher_) dispatcher_->set_runtime(runtime_);
  }
  live_.insert(socket);
  return runtime_;
}

void addon::release_runtime(native_socket* socket) {
  live_.erase(socket);
  if (live_.empty()) runtime_.reset();
}

}  // namespace rws::binding

// The macro needs a plain identifier.
using resilient_ws_addon = rws::binding::addon;
NODE_API_ADDON(resilient_ws_addon)
