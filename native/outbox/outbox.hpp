#pragma once
// Every send() goes through the outbox (SPEC §7): an ordered queue bounded by maxMessages and
// maxBytes, backed by the crash-safe file log when outbox.path is set. It assigns sequence
// numbers and idempotency keys, and remembers which messages still need to reach the server.
// io thread only.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "outbox/file_io.hpp"
#include "outbox/outbox_log.hpp"
#include "common/failure.hpp"
#include "outbox/outbox_config.hpp"

namespace rws {

struct outgoing_message {
  std::string data;
  std::string key;  // empty: generate
  bool binary = false;
};

struct outbox_item {
  std::uint64_t seq = 0;
  std::uint64_t request = 0;  // 0: recovered from disk, nobody waits on it in this process
  std::string key;
  std::string payload;
  bool binary = false;
  bool acked = false;
};

// A send() request that ended: either a receipt or a rejection.
struct send_outcome {
  std::uint64_t request;
  std::uint64_t seq;
  failure error;  // code none: success
};

class outbox {
 public:
  explicit outbox(const outbox_config& config);
  ~outbox();

  // Opens the file log (io thread). Reports recovery problems via `corrupt` (ERR_OUTBOX_CORRUPT).
  failure open(failure& corrupt);

  // Generated keys are key_prefix() + "-" + 12 hex digits of seq; lib/resilient-socket.js builds
  // the same string for receipts, so keys never cross the thread boundary one by one.
  const std::string& key_prefix() const { return key_prefix_; }
  bool durable() const { return log_ != nullptr; }

  // Accepts a batch of send() requests numbered first_request... Rejections (full, I/O) and
  // messages evicted by drop-oldest are appended to `rejected`; accepted requests are the rest.
  // With a file log the accepted ones are on disk (per the fsync policy) when this returns.
  void accept(std::vector<outgoing_message>& batch, std::uint64_t first_request, std::vector<send_outcome>& accepted,
              std::vector<send_outcome>& rejected);

  // fsync 'batch' (group commit): accept() only appends; this syncs everything appended since
  // the last sync with one fdatasync. The session runs it once per io step in which batches
  // arrived, so batches queued behind a slow fsync share the next one. Durable messages go to
  // `persisted`; on failure the unsynced ones are removed and go to `rejected`.
  bool needs_sync() const;
  void sync_appended(std::vector<send_outcome>& persisted, std::vector<send_outcome>& rejected);

  // The next message to put on the wire in this connection (durable ones only), or null.
  const outbox_item* next_to_send();
  // True while a durable message waits to be handed to the socket (close() drains them first).
  bool has_unsent() const;
  // A new connection: everything not yet delivered is sent again, in order.
  void rewind() { send_index_ = 0; }
  // Messages up to `seq` are fully written to the socket. In 'written' mode they leave the outbox.
  void written_upto(std::uint64_t seq, std::vector<send_outcome>& delivered);
  // The messages up to `seq` whose bytes reached the kernel for the first time (a resend after
  // a reconnect is not reported again), in every mode. With a file outbox or 'acked' their
  // receipt comes at another moment, so the session reports this separately: JavaScript's
  // bufferedAmount counts bytes not yet handed to the kernel.
  void first_written_upto(std::uint64_t seq, std::vector<send_outcome>& written);
  // The server acknowledged `key`; returns false when no pending message has it.
  bool acknowledge(const std::string& key, std::vector<send_outcome>& delivered);
  // close(): in-memory messages that were never delivered are rejected with ERR_CLOSED.
  void abandon(std::vector<send_outcome>& rejected);
  void close();

  std::size_t size() const { return items_.size() - acked_count_; }
  // The messages maxMessages bounds: all of them, except — in 'written' mode — those already
  // handed to this connection, which leave as soon as the socket has them (at most the
  // session's write high-water mark of them). SPEC §7: while connected, messages go straight
  // out; the bound is on the ones that wait. A ws-style sender that keeps bufferedAmount under
  // 1 MiB hands over 16,384 messages of 64 B in one tick (bench send-64-text).
  std::size_t waiting() const {
    if (config_.guarantee != delivery_guarantee::written) return size();
    return size() - std::min(send_index_, items_.size());
  }
  // How many more messages accept() takes now before maxMessages refuses (or evicts).
  std::size_t room() const { return waiting() >= config_.max_messages ? 0 : config_.max_messages - waiting(); }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t torn_bytes() const { return torn_bytes_; }
  // The directory of the file log, for the resume position stored beside it.
  const std::string& path() const { return config_.path; }
  file_system* fs() { return fs_.get(); }

 private:
  void pop_delivered_head(std::vector<send_outcome>* delivered);
  void remove_head(std::vector<send_outcome>* delivered, failure error);
  std::string make_key(std::uint64_t seq) const;
  void forget_key(const outbox_item& item);
  // 'drop-oldest': removes the oldest message of an earlier batch that is not on the wire yet.
  bool evict_oldest_unsent(std::size_t& first_new, std::vector<send_outcome>& rejected, failure error);

  outbox_config config_;
  std::unique_ptr<file_system> fs_;
  std::unique_ptr<outbox_log> log_;
  std::deque<outbox_item> items_;
  std::unordered_map<std::string, std::uint64_t> key_to_seq_;  // 'acked' mode only
  std::size_t send_index_ = 0;  // items_[send_index_] is the next to write in this connection
  std::uint64_t first_written_mark_ = 0;  // every seq up to this was reported by first_written_upto
  std::size_t acked_count_ = 0;  // acked items not yet popped (an older one is still pending)
  std::uint64_t bytes_ = 0;
  std::uint64_t next_seq_ = 1;
  std::uint64_t durable_upto_ = 0;  // file log: every record up to this seq is on disk
  std::uint64_t torn_bytes_ = 0;
  std::string key_prefix_;
};

}  // namespace rws
