#pragma once
// The bridge from the io thread to JavaScript: the session pushes batches of event structs, and
// one thread-safe-function call carries everything that is ready to the JS callback as a single
// flat array, plus the lengths of its runs of messages (lib/event-codes.js documents the layout).
// Never one call per message.
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "session/session_event.hpp"

namespace rws::binding {

class js_event_queue : public event_sink, public std::enable_shared_from_this<js_event_queue> {
 public:
  // Both callbacks run on the JS thread after a batch was handed to JavaScript:
  // `on_backlog_drained` when the batch had reached max_js_backlog, `on_id_delivered` with the
  // id of the batch's last message that carried one (the resume position to store).
  using id_callback = std::function<void(std::string id, bool is_string)>;
  static std::shared_ptr<js_event_queue> create(Napi::Env env, Napi::Function callback,
                                                std::function<void()> on_backlog_drained,
                                                id_callback on_id_delivered);

  void push(std::vector<session_event>& batch) override;  // io thread
  std::uint64_t backlog_bytes() const override { return backlog_.load(std::memory_order_relaxed); }

  // JS thread only.
  void ref(Napi::Env env);
  void unref(Napi::Env env);
  // Releases the thread-safe function; events pushed afterwards are dropped.
  void release();

 private:
  js_event_queue() = default;
  static void call_js(napi_env env, napi_value callback, void* context, void* data);
  static void finalize(napi_env env, void* data, void* hint);
  void deliver(napi_env env, napi_value callback);

  std::mutex mutex_;  // guards pending_, pending_cost_, scheduled_, closed_ and calls into tsfn_
  // Each io step's batch as the session pushed it, in order (see push()).
  std::vector<std::vector<session_event>> pending_;
  std::uint64_t pending_cost_ = 0;  // batch_cost() of pending_, what deliver() takes off backlog_
  bool scheduled_ = false;
  bool closed_ = false;
  napi_threadsafe_function tsfn_ = nullptr;
  std::atomic<std::uint64_t> backlog_{0};
  std::function<void()> on_backlog_drained_;
  id_callback on_id_delivered_;
};

}  // namespace rws::binding
