#include "binding/js_dispatcher.hpp"

#include <napi.h>

namespace rws::binding {

std::shared_ptr<js_dispatcher> js_dispatcher::create(napi_env env) {
  std::shared_ptr<js_dispatcher> self(new js_dispatcher());
  self->env_ = env;
  // The thread-safe function keeps the dispatcher alive until its finalizer runs (environment
  // teardown: Node closes every thread-safe function itself).
  auto* keep = new std::shared_ptr<js_dispatcher>(self);
  napi_value name;
  napi_create_string_utf8(env, "resilient-ws events", NAPI_AUTO_LENGTH, &name);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, keep, finalize,
                                                       self.get(), call_js, &self->tsfn_);
  if (status != napi_ok) {
    delete keep;
    throw Napi::Error::New(env, "resilient-ws: cannot create the event bridge");
  }
  napi_unref_threadsafe_function(env, self->tsfn_);
  return self;
}

bool js_dispatcher::schedule(js_dispatch_item* item) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  return napi_call_threadsafe_function(tsfn_, item, napi_tsfn_nonblocking) == napi_ok;
}

void js_dispatcher::hold() {
  // Only the JS thread counts holders; the lock keeps the call away from a finalizer.
  if (holders_++ != 0) return;
  std::lock_guard lock(mutex_);
  if (!closed_) napi_ref_threadsafe_function(env_, tsfn_);
}

void js_dispatcher::let_go() {
  if (holders_ == 0 || --holders_ != 0) return;
  std::lock_guard lock(mutex_);
  if (!closed_) napi_unref_threadsafe_function(env_, tsfn_);
}

void js_dispatcher::call_js(napi_env env, napi_value, void*, void* data) {
  static_cast<js_dispatch_item*>(data)->run(env);
}

void js_dispatcher::finalize(napi_env, void* data, void*) {
  auto* keep = static_cast<std::shared_ptr<js_dispatcher>*>(data);
  {
    std::lock_guard lock((*keep)->mutex_);
    (*keep)->closed_ = true;  // Node finalized it (environment teardown): never call it again
  }
  delete keep;
}

}  // namespace rws::binding
