#pragma once
// Plain event structs that cross from the io thread to JavaScript. The session pushes them into
// an event_sink; the binding converts a whole batch in one thread-safe-function call and lib/
// maps each to a named emit. Messages are the hot path, so they carry only what they need and
// everything rarer lives behind `detail`.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/failure.hpp"

namespace rws {

enum class event_kind : std::uint8_t {
  state = 1,
  connecting,
  open,
  message,
  disconnect,
  reconnecting,
  heartbeat,
  ack,
  drain,
  failed,
  error,
  close,
  sent,         // a run of send() requests reached their receipt status
  send_failed,  // one send() request was rejected
  resume_info,  // the persisted last event id, once at start-up
  // Replayed messages dropped as already delivered, counted per io step (diagnostics). 16-18 are
  // message layouts of the binding (lib/event-codes.js).
  duplicates = 19,
  resume_reset,  // the server said it cannot replay from our position (resume.resetMatch)
};

// The socket's states, as `state` events and stats() name them (state_name()).
enum class session_state : std::uint8_t { idle, connecting, open, reconnecting, closing, closed, failed };
const char* state_name(session_state state);

// handed_to_kernel is no receipt: with a file outbox or 'acked' it tells JavaScript that the
// messages' bytes reached the kernel (bufferedAmount); their promises settle at their receipt.
enum class receipt_status : std::uint8_t { written = 1, persisted, acked, handed_to_kernel };

struct event_detail {
  std::string reason;  // state (when it has one), disconnect, close, reconnecting: reason text
  std::string url, protocol, resumed_from;
  std::uint64_t attempt = 0;
  std::int64_t delay_ms = 0;
  int code = 0;  // close code
  bool was_clean = false, will_reconnect = false, reconnected = false;
  double rtt_ms = 0;
  std::string key;  // ack
  // disconnect, reconnecting, failed, error, send_failed. Behind a pointer: the detail of every
  // other event (two per connection opened) would carry ~100 unused bytes.
  std::unique_ptr<failure> error;
  // sent: requests [first_request, first_request + count) got seqs [first_seq, ...)
  std::uint64_t first_request = 0, count = 0, first_seq = 0;
  receipt_status status = receipt_status::written;
  std::string key_prefix;  // generated keys are key_prefix + seq (see outbox_queue)
};

struct session_event {
  explicit session_event(event_kind k) : kind(k) {}
  event_kind kind;
  bool binary = false;    // message
  bool replayed = false;  // message
  bool id_is_string = false;  // message: the id was a JSON string (how it is stored on disk)
  // state: the new state and the one before (in the struct's padding). A state event has a
  // detail only when the change has a reason: the two of every connection opened have none.
  session_state state = session_state::idle, previous = session_state::idle;
  std::string data;       // message payload
  std::string id;         // message id (resume), empty when none
  std::unique_ptr<event_detail> detail;

  static session_event with_detail(event_kind kind) {
    session_event e(kind);
    e.detail = std::make_unique<event_detail>();
    return e;
  }
};

// The io thread stops reading a connection while events worth this many bytes of native memory
// wait for JavaScript (see batch_cost), so a blocked event loop cannot grow memory without
// bound, whatever the message size. The binding resumes reading once it has drained a backlog
// that reached this size.
constexpr std::uint64_t max_js_backlog = 64u << 20;

// What a heap block costs beyond the bytes asked for (glibc: an 8-byte header, 16-byte
// granularity). Counting it matters for tiny payloads, not for large ones.
constexpr std::uint64_t heap_block_overhead = 16;

// Heap bytes a string owns (0 while it fits in its small-string buffer).
inline std::uint64_t heap_bytes(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 + heap_block_overhead : 0;
}

// The native memory a batch of events holds while it waits for JavaScript: the vector's
// capacity in event structs, each event's payload and id on the heap, and its detail. Payload
// bytes alone made an empty message free, so a flood of tiny frames never paused reading.
// One pass over the batch, done once per push (not per message on its own).
inline std::uint64_t batch_cost(const std::vector<session_event>& batch) {
  std::uint64_t bytes = batch.capacity() * sizeof(session_event) + heap_block_overhead;
  for (const auto& e : batch) {
    bytes += heap_bytes(e.data) + heap_bytes(e.id);
    if (e.detail) {
      bytes += sizeof(event_detail) + heap_block_overhead;
      if (e.detail->error) bytes += sizeof(failure) + heap_block_overhead;
    }
  }
  return bytes;
}

// Where a session puts its events. Implemented by the binding (batches to JS) and by tests.
// push() is called on the io thread only, with every event that one io step produced.
class event_sink {
 public:
  virtual ~event_sink() = default;
  // Takes (moves out) all events of the batch, which is left empty.
  virtual void push(std::vector<session_event>& batch) = 0;
  // Native memory (batch_cost) of the events pushed but not yet taken by JavaScript; the session
  // stops reading when this reaches max_js_backlog, so a stalled event loop cannot make memory
  // grow without limit.
  virtual std::uint64_t backlog_bytes() const = 0;
  // Whether anybody would see a `heartbeat` event. Each one costs JavaScript a wake-up, and on
  // an idle socket it is the only thing that would wake it, so the session reports pongs only
  // while this is true (any thread may change the answer; the session asks per pong).
  virtual bool wants_heartbeat_events() const { return true; }
};

}  // namespace rws
