#pragma once
// The resume position of one socket, across its connections: the newest id parsed and
// the newest id JavaScript received, the dedupe window for replayed events, id gap counting, the
// replay phase after a resumed reconnect, and the policy for when the received id is stored.
// Pure logic: no Asio, no files. Time comes in as arguments, and storing goes through `store`
// (the session passes the outbox layer's file write), so resume/ depends on nothing above it.
// Single-threaded: owned by the session on the io thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "resume/id_window.hpp"
#include "resume/resume_config.hpp"

namespace rws {

class resume_tracker {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  // Stores the received position: the id as a JSON token (a number as written, a string quoted).
  using store_fn = std::function<void(const std::string& id_token)>;

  // Received ids are stored at most this late: storing each would cost an fsync per message, so
  // a short delay groups them (after a crash the server may replay a few events again).
  static constexpr auto store_delay = std::chrono::milliseconds(100);
  // info.replayed is a hint: messages count
  // as replayed from a resumed open until a read drains the socket or the stream pauses this long.
  static constexpr auto replay_quiet_gap = std::chrono::milliseconds(100);

  // The session passes a part of its (possibly shared) configuration: kept, not copied.
  resume_tracker(std::shared_ptr<const resume_config> config, store_fn store);
  resume_tracker(const resume_config& config, store_fn store)
      : resume_tracker(std::make_shared<const resume_config>(config), std::move(store)) {}

  bool enabled() const { return config_->enabled; }

  // Start-up: the position stored by an earlier process (a JSON token as store_fn wrote it).
  // Returns false (and changes nothing) when the token is not a usable id.
  bool restore(std::string_view id_token);

  // --- position ---
  // Newest parsed: where to resume from (empty while resume is disabled).
  const std::string& last_id() const { return on_ ? on_->last_id : no_id_; }
  bool last_id_is_string() const { return on_ && on_->last_id_is_string; }
  // The newest id as a JSON token, for the resume message template.
  std::string last_id_token() const;

  // --- inbound text messages ---
  enum class verdict : std::uint8_t { no_id, fresh, duplicate };
  // Looks for the id in a text message. fresh: `id`/`id_is_string` are set and the id becomes
  // the position; duplicate: the id is in the window (drop the message); no_id: deliver as is.
  verdict on_text(std::string_view payload, std::string& id, bool& id_is_string);
  // Numeric ids that jumped since construction, and the ids skipped by those jumps.
  std::uint64_t id_gaps() const { return on_ ? on_->id_gaps : 0; }
  std::uint64_t ids_missing() const { return on_ ? on_->ids_missing : 0; }

  // --- replay phase ---
  // A connection opened; `resumed` when it was opened with a position (the server may replay).
  void on_open(bool resumed, time_point now);
  // A read with data arrived: ends the replay phase after a pause. Returns replaying().
  bool on_data(time_point now);
  // The read left nothing in the kernel buffer: the replay burst is over.
  void on_drained() {
    if (on_) on_->replaying = false;
  }
  bool replaying() const { return on_ && on_->replaying; }

  // --- persistence policy ---
  // JavaScript received the message with this id. Returns true when a store should be scheduled
  // store_delay from now (the first received id since the last store); later ids ride along.
  bool on_delivered(const std::string& id, bool is_string);
  // The scheduled store (or any end): stores the received position if it changed.
  void store_if_changed();
  // A regular end: every parsed message is queued for JavaScript ahead of the final 'close', so
  // the newest parsed id becomes the received position (teardown, where queued events are
  // dropped, does not call this).
  void adopt_parsed_as_delivered();

 private:
  // Everything a tracker keeps once resume is enabled; a disabled one (the default, and every
  // socket has a tracker) keeps only its configuration (bench idle-5000: RSS per connection).
  struct enabled_state {
    explicit enabled_state(const resume_config& config, store_fn store)
        : store(std::move(store)), seen(config.window) {}
    store_fn store;
    id_window seen;  // the dedupe window
    std::string last_id;
    bool last_id_is_string = false;
    std::string delivered_id;
    bool delivered_id_is_string = false;
    bool changed = false;  // delivered_id differs from what was last stored
    std::uint64_t id_gaps = 0, ids_missing = 0;
    bool replaying = false;
    time_point last_data_at{};
  };

  static inline const std::string no_id_;
  std::shared_ptr<const resume_config> config_;
  std::unique_ptr<enabled_state> on_;  // null while resume is disabled
};

}  // namespace rws
