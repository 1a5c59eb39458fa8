#pragma once
// Consecutive plain messages (no resume id) of one delivery, packed so JavaScript receives a
// run of them as one value plus one Uint32Array of lengths instead of one value per message:
// a run of text messages is one string (JS slices it), a run of small binary messages is one
// Buffer (JS takes subarrays). That turns per-message N-API calls (a string or buffer, a kind
// number, element sets into the flat array) into a memcpy, which is what receiving many small
// messages costs most (profile: 44 % of the JS thread building the array, one string each).
//
// A run is capped at run_max_bytes, which also bounds what one retained message can keep alive
// (a slice references its run). Messages of at least run_message_max bytes never join a run:
// text gets its own string, binary adopts its payload as an external Buffer (no copy).
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "session/session_event.hpp"

namespace rws::binding {

inline constexpr std::size_t run_message_max = 32 * 1024;
inline constexpr std::size_t run_max_bytes = 256 * 1024;

// Whether the message event e may join a run.
inline bool joins_run(const session_event& e) {
  return e.kind == event_kind::message && e.id.empty() && e.data.size() < run_message_max;
}

// The run being collected during one delivery. It points at the events' payloads, which must
// stay untouched until take().
class message_run {
 public:
  bool empty() const { return payloads_.empty(); }
  // Whether e (which joins_run) can be appended to this run.
  bool accepts(const session_event& e) const {
    return empty() || (e.binary == binary_ && bytes_ + e.data.size() <= run_max_bytes);
  }
  void add(const session_event& e);
  // The run's value (a string or a Buffer) and its lengths (UTF-16 code units for text, bytes for
  // binary), as JavaScript slices them; the run is empty afterwards.
  void take(napi_env env, napi_value& value, napi_value& lengths);
  bool binary() const { return binary_; }

 private:
  bool binary_ = false;
  std::size_t bytes_ = 0;
  std::vector<const std::string*> payloads_;
  std::string text_;  // text runs are concatenated here first (capacity reused between runs)
};

}  // namespace rws::binding
