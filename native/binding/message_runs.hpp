#pragma once
// Consecutive plain messages (no resume id) of one delivery, packed so JavaScript receives a
// run of them as one value plus one Uint32Array of lengths instead of one value per message:
// a run of text messages is one string (JS slices it), a run of small binary messages is one
// Buffer (JS takes subarrays). That turns per-message N-API calls (a string or buffer, a kind
// number, element sets into the flat array) into a memcpy, which is what receiving many small
// messages costs most (profile: 44 % of the JS thread building the array, one string each).
//
// A run is capped, because every message of it keeps the whole run alive for as long as the
// application keeps that message: a string slice references its parent string (V8 copies only
// slices under 13 characters) and a subarray its Buffer. Text runs stay under 8 KiB (keeping
// 10,000 small messages of different runs holds at most ~80 MiB, not the 2.5 GiB 256 KiB runs
// would); binary runs under 64 KiB, the size of the read chunks `ws` slices its messages from.
// Messages of at least run_message_max bytes never join a run: text gets its own string, binary a
// Buffer of its own (js_event_queue.cpp make_buffer).
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "session/session_event.hpp"

namespace rws::binding {

inline constexpr std::size_t run_message_max = 32 * 1024;
inline constexpr std::size_t text_run_max_bytes = 8 * 1024;
inline constexpr std::size_t binary_run_max_bytes = 64 * 1024;

// Whether the message event e may join a run: a plain message small enough that a run holds a
// few of them at least.
inline bool joins_run(const session_event& e) {
  if (e.kind != event_kind::message || !e.id.empty()) return false;
  return e.data.size() < (e.binary ? run_message_max : text_run_max_bytes / 4);
}

// The runs of one delivery: the one being collected, and the lengths of all of them. Lengths
// (UTF-16 code units for text, bytes for binary) reach JavaScript as one Uint32Array per
// delivery, not one per run: ArrayBuffers are costly to create and collect, and runs are small.
// Points at the events' payloads, which must stay untouched until take().
class message_runs {
 public:
  bool run_empty() const { return payloads_.empty(); }
  // Whether e (which joins_run) can be appended to the current run.
  bool accepts(const session_event& e) const {
    return run_empty() ||
           (e.binary == binary_ && bytes_ + e.data.size() <= (binary_ ? binary_run_max_bytes : text_run_max_bytes));
  }
  void add(const session_event& e);
  bool binary() const { return binary_; }
  // Ends the current run: its value (a string or a Buffer) and its message count. A run of one
  // message records no length: its value is the message (a plain MESSAGE event, as an echo's
  // reply is, which then costs nothing more than before runs existed).
  std::uint32_t take(napi_env env, napi_value& value);
  // The lengths of every run taken, in order, as one Uint32Array (undefined when there was none).
  napi_value lengths(napi_env env);
  // A value could not be created: the environment is going away (worker.terminate(), exit)
  // and refuses new Buffers. The caller drops the delivery instead of calling JavaScript.
  bool failed() const { return failed_; }

 private:
  bool binary_ = false;
  std::size_t bytes_ = 0;
  std::vector<const std::string*> payloads_;
  std::vector<std::uint32_t> lengths_;
  std::string text_;  // text runs are concatenated here first (capacity reused between runs)
  bool failed_ = false;
};

}  // namespace rws::binding
