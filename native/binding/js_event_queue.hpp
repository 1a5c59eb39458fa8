#pragma once
// The bridge from the io thread to JavaScript: the session pushes batches of event structs, and
// one wake-up (an item of the environment's js_dispatcher) carries everything that is ready to
// the JS socket (its `_onEvents(batch, lengths)`, through lib/'s handler: addon::event_handler)
// as a single flat array, plus the lengths of its runs of messages (lib/event-codes.js documents
// the layout). Never one call per message.
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "binding/js_dispatcher.hpp"
#include "session/session.hpp"
#include "transport/io_runtime.hpp"
#include "session/session_event.hpp"

namespace rws::binding {

class js_event_queue : public event_sink,
                       public js_dispatch_item,
                       public std::enable_shared_from_this<js_event_queue> {
 public:
  using batch_list = std::vector<std::vector<session_event>>;
  // Starts holding the event loop, as a socket does until unref()'d. `target` is the socket's
  // wrap reference (native_socket): the queue makes it strong until release(), so the socket
  // lives while its events may come, and never deletes it.
  static std::shared_ptr<js_event_queue> create(Napi::Env env, std::shared_ptr<js_dispatcher> dispatcher,
                                                napi_ref target);
  // JS thread, before the session starts: where what a delivery asks of the socket goes (reading
  // may resume, the id to store), posted to the session's io thread. Held weakly: a delivery may
  // come after the socket was disposed, and then posts nothing.
  void link(std::weak_ptr<session> owner) { session_ = std::move(owner); }

  void push(std::vector<session_event>& batch) override;  // io thread
  std::uint64_t backlog_bytes() const override { return backlog_.load(std::memory_order_relaxed); }
  // io thread: true while the socket has a `heartbeat` listener or the environment's heartbeat
  // channel has subscribers.
  bool wants_heartbeat_events() const override {
    return heartbeat_listened_.load(std::memory_order_relaxed) || dispatcher_->heartbeat_subscribed();
  }

  // JS thread only.
  void ref();
  void unref();
  // Whether the socket has (or may have) a `heartbeat` listener.
  void set_heartbeat_listened(bool listened) { heartbeat_listened_.store(listened, std::memory_order_relaxed); }
  // Lets go of the target (weak again) and of the event loop; events pushed afterwards are
  // dropped. Idempotent.
  void release();

  void run(napi_env env) override;  // js_dispatch_item: JS thread

 private:
  struct made_by_create {  // the constructor is public for make_shared only
    explicit made_by_create() = default;
  };

 public:
  js_event_queue(made_by_create, std::shared_ptr<js_dispatcher> dispatcher)
      : dispatcher_(std::move(dispatcher)) {}

 private:
  void deliver(napi_env env);
  // A delivery's request to the session, posted to the io thread (with either gone: nothing).
  template <class Fn>
  void on_io_thread(Fn fn);
  // Delivered batches go back to the io thread to be freed where they were allocated.
  void free_on_io_thread(batch_list batches);

  // pending_, pending_cost_, scheduled_, scheduled_self_ and closed_ are guarded by the
  // environment's one lock for every queue (mutex()), not by 40 bytes of std::mutex per socket.
  std::mutex& mutex() const { return dispatcher_->queue_mutex(); }
  // Each io step's batch as the session pushed it, in order (see push()).
  batch_list pending_;
  std::uint64_t pending_cost_ = 0;  // batch_cost() of pending_, what deliver() takes off backlog_
  // Keeps this queue alive while the dispatcher holds it as an item (run() lets go).
  std::shared_ptr<js_event_queue> scheduled_self_;
  std::shared_ptr<js_dispatcher> dispatcher_;
  // The JS socket the events go to, through its wrap reference, held strong so the socket lives
  // while its connection can still deliver, however the application lets go of it. The socket
  // rather than a bound function: nothing more per socket. JS thread only; weak again and
  // forgotten by release() (the wrap's finalizer deletes it).
  napi_ref target_ = nullptr;
  std::atomic<std::uint64_t> backlog_{0};
  // The flags together, so they pack.
  bool scheduled_ = false;
  bool closed_ = false;
  bool holding_ = false;              // JS thread only: counted as a holder of the dispatcher
  std::atomic<bool> heartbeat_listened_{false};
  std::weak_ptr<session> session_;     // see link(); JS thread only
};

}  // namespace rws::binding
