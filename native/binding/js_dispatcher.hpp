#pragma once
// One wake-up channel from the io thread to JavaScript per environment, shared by every
// socket's event queue. A thread-safe function per socket gives each socket a uv_async handle of
// its own, and libuv looks at every async handle of the loop on each wake-up: with thousands of
// idle sockets that scan, plus one eventfd write per socket per heartbeat, was most of the
// JS thread's idle cost. Here a socket with events hands itself over as one item of a single
// thread-safe function: one eventfd write wakes JavaScript for every socket that has
// something, and Node still runs each item in a callback scope of its own (microtasks and
// process.nextTick run between sockets, as before).
#include <node_api.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>

#include "transport/io_runtime.hpp"

namespace rws::binding {

// Something the dispatcher runs on the JS thread: `env` is null when the environment is going
// away and the item is dropped instead (it must still let go of whatever keeps it alive).
class js_dispatch_item {
 public:
  virtual void run(napi_env env) = 0;

 protected:
  ~js_dispatch_item() = default;
};

class js_dispatcher {
 public:
  // JS thread. Starts not holding the event loop (see hold()).
  static std::shared_ptr<js_dispatcher> create(napi_env env);

  // Any thread: `item` runs once on the JS thread. false when the environment is going away and
  // the item was not taken (it will not run).
  bool schedule(js_dispatch_item* item);

  // JS thread: the event loop stays alive while at least one holder (a ref'd socket) holds it.
  void hold();
  void let_go();

  // Whether the environment's `resilient-ws:heartbeat` diagnostics channel has subscribers:
  // set on the JS thread (lib/diagnostics.js watches the channel), read on the io thread.
  void set_heartbeat_subscribed(bool subscribed) { heartbeat_subscribed_.store(subscribed, std::memory_order_relaxed); }
  bool heartbeat_subscribed() const { return heartbeat_subscribed_.load(std::memory_order_relaxed); }

  // The lock every event queue of the environment takes around its pending batches (held for a
  // push or a swap, never across a call out): one lock, not one per socket.
  std::mutex& queue_mutex() { return queue_mutex_; }
  napi_env env() const { return env_; }  // JS thread only
  // The environment's io thread, where deliveries send their batches back to be freed: set by
  // the addon when it starts one (one weak pointer here, not one in every socket's queue). JS
  // thread only; null once the io thread has stopped.
  void set_runtime(std::weak_ptr<io_runtime> runtime) { runtime_ = std::move(runtime); }
  std::shared_ptr<io_runtime> runtime() const { return runtime_.lock(); }

 private:
  js_dispatcher() = default;
  static void call_js(napi_env env, napi_value, void* context, void* data);
  static void finalize(napi_env env, void* data, void* hint);

  std::mutex mutex_;  // guards closed_ and calls into tsfn_
  std::mutex queue_mutex_;
  bool closed_ = false;
  napi_threadsafe_function tsfn_ = nullptr;
  std::atomic<bool> heartbeat_subscribed_{false};
  std::size_t holders_ = 0;  // JS thread only
  napi_env env_ = nullptr;   // JS thread only
  std::weak_ptr<io_runtime> runtime_;  // JS thread only
};

}  // namespace rws::binding
