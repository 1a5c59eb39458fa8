#pragma once
// Every send() goes through the outbox: an ordered queue bounded by maxMessages and
// maxBytes, backed by the crash-safe file log when outbox.path is set. It assigns sequence
// numbers and idempotency keys, and remembers which messages still need to reach the server.
// io thread only.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/failure.hpp"
#include "common/shared_payload.hpp"
#include "outbox/disk_worker.hpp"
#include "common/lazy_deque.hpp"
#include "outbox/file_io.hpp"
#include "outbox/idempotency_key.hpp"
#include "outbox/item_key.hpp"
#include "outbox/outbox_config.hpp"
#include "outbox/outbox_log.hpp"
#include "outbox/resume_position_file.hpp"

namespace rws {

struct outgoing_message {
  std::string data;
  std::string key;  // empty: generate
  bool binary = false;
  // `data` is already masked with this fresh key (large binaries, in-memory outbox only: a file
  // outbox logs plain bytes).
  std::optional<std::uint32_t> masked_with;
};

struct outbox_item {
  std::uint64_t seq = 0;
  std::uint64_t request = 0;  // 0: recovered from disk, nobody waits on it in this process
  // Kept only where keeps_keys() ('acked' looks it up again, keyField put it into the payload):
  // the sender's, or generated. Otherwise it is in the record on disk (a file outbox) or was
  // never needed: the receipt names it from JavaScript's side.
  item_key key;
  shared_payload payload;  // shared with the write that sends it, when large
  bool binary = false;
  bool acked = false;
};

// A send() request that the outbox took, or that reached a later stage (durable, written,
// acked): what its receipt names. Kept apart from send_outcome, whose failure is ~120 bytes of
// strings and vectors: every message of a stream passes through two to four of these lists.
struct sent_receipt {
  std::uint64_t request;
  std::uint64_t seq;
};

// A send() request that ended without a receipt: refused, evicted, failed on the disk, or
// left undecided when the socket closed.
struct send_outcome {
  std::uint64_t request;
  std::uint64_t seq;
  failure error;
};

class outbox {
 public:
  // The session passes a part of its (possibly shared) configuration: kept, not copied.
  explicit outbox(std::shared_ptr<const outbox_config> config);
  explicit outbox(const outbox_config& config) : outbox(std::make_shared<const outbox_config>(config)) {}
  ~outbox();

  // Hands a function to the io thread (the session's io_context): how the disk worker reports.
  using poster = std::function<void(std::function<void()>)>;

  // Opens the file log (io thread) and starts its disk worker. Reports recovery problems via
  // `corrupt` (ERR_OUTBOX_CORRUPT).
  failure open(failure& corrupt, poster post_to_io);

  // Generated keys are key_prefix() + "-" + 12 hex digits of seq; lib/resilient-socket.js builds
  // the same string for receipts, so keys never cross the thread boundary one by one.
  std::string_view key_prefix() const { return {key_prefix_.data(), key_prefix_.size()}; }
  bool durable() const { return log() != nullptr; }

  // In memory: sequence numbers come from `counter`, which the JavaScript thread's direct writes
  // share (transport/direct_lane.hpp). Set before the first accept().
  void share_seq_counter(std::atomic<std::uint64_t>* counter) { shared_seq_ = counter; }
  // A message JavaScript began writing itself (request, seq already its own) whose frame's rest
  // the caller queues on the connection now: it counts as handed to this connection, and goes
  // out whole again on the next one if this one ends first. Requires !has_unsent().
  void accept_on_wire(outgoing_message message, std::uint64_t request, std::uint64_t seq);

  // Accepts a batch of send() requests numbered first_request... Rejections (full, I/O) and
  // messages evicted by drop-oldest are appended to `rejected`; accepted requests are the rest.
  // With a file log the accepted ones are on disk (per the fsync policy) when this returns.
  void accept(std::vector<outgoing_message>& batch, std::uint64_t first_request, std::vector<sent_receipt>& accepted,
              std::vector<send_outcome>& rejected);

  // fsync 'batch' (group commit): accept() only appends. start_sync() hands one fdatasync that
  // covers everything appended so far to the disk worker and returns at once; `done` runs on the
  // io thread when it has finished (or at once when nothing needed syncing). Sends accepted
  // while it runs wait for the next one, which the caller starts from `done` (needs_sync()).
  // Nothing unsynced goes on the wire (next_to_send), and a failed fdatasync is never reported
  // durable. One sync at a time: start_sync() while one runs only queues `done` behind it.
  bool needs_sync() const;
  bool sync_in_flight() const { return file_ && file_->running_sync != nullptr; }
  void start_sync(std::function<void()> done);
  // Outcomes of finished syncs: durable messages go to `persisted`; on failure the unsynced ones
  // are removed and go to `rejected`. wait = true (close, teardown): first waits for the sync in
  // flight and syncs whatever is left right here, on the calling thread.
  void sync_appended(std::vector<sent_receipt>& persisted, std::vector<send_outcome>& rejected,
                     bool wait = true);
  // `done` runs on the io thread once the disk worker has finished everything submitted so far
  // (a group commit, resume-position writes, segment deletions): the worker runs its jobs in
  // order, so this is one more job that only posts `done` back. At once, inline, without a file
  // outbox. A close waits for its disk this way, then finds nothing left to wait for on the io
  // thread, which every socket shares.
  void after_disk_work(std::function<void()> done);

  // The next message to put on the wire in this connection (durable ones only), or null.
  const outbox_item* next_to_send();
  // True while a message waits to be handed to the socket, durable or with its group commit
  // still running (close() drains them first).
  bool has_unsent() const;
  // A new connection: everything not yet delivered is sent again, in order.
  void rewind() {
    if (queue_) queue_->send_index = 0;
  }
  // Messages up to `seq` are fully written to the socket. In 'written' mode they leave the outbox.
  void written_upto(std::uint64_t seq, std::vector<sent_receipt>& delivered);
  // The messages up to `seq` whose bytes reached the kernel for the first time (a resend after
  // a reconnect is not reported again), in every mode. With a file outbox or 'acked' their
  // receipt comes at another moment, so the session reports this separately: JavaScript's
  // bufferedAmount counts bytes not yet handed to the kernel.
  void first_written_upto(std::uint64_t seq, std::vector<sent_receipt>& written);
  // The server acknowledged `key`; returns false when no pending message has it.
  bool acknowledge(const std::string& key, std::vector<sent_receipt>& delivered);
  // close(): in-memory messages that were never delivered are rejected with ERR_CLOSED.
  void abandon(std::vector<send_outcome>& rejected);
  void close();
  // close() for a disk that stopped answering (an end past its deadline), without waiting for
  // it on this thread: messages whose commit is undecided go to `undecided` (they are in the
  // files, and a later outbox on the directory sends them if the disk keeps them), and the
  // final sync, the close and the directory's unlock are left to the disk worker, which ends
  // once its disk answers. Afterwards the outbox is closed (not durable()).
  void close_without_waiting(std::vector<send_outcome>& undecided);
  // Nothing waits: frees the queue's memory (a burst grew it). Called while idle, not per message.
  void release_idle_memory() {
    if (queue_) queue_->items.release_if_empty();
  }

  std::size_t size() const { return queue_ ? queue_->items.size() - queue_->acked_count : 0; }
  // The messages maxMessages bounds: all of them, except — in 'written' mode — those already
  // handed to this connection, which leave as soon as the socket has them (at most the
  // session's write high-water mark of them). While connected, messages go straight
  // out; the bound is on the ones that wait. A ws-style sender that keeps bufferedAmount under
  // 1 MiB hands over 16,384 messages of 64 B in one tick (bench send-64-text).
  std::size_t waiting() const {
    if (config_->guarantee != delivery_guarantee::written) return size();
    return queue_ ? size() - std::min(queue_->send_index, queue_->items.size()) : 0;
  }
  // How many more messages accept() takes now before maxMessages refuses (or evicts).
  std::size_t room() const { return waiting() >= config_->max_messages ? 0 : config_->max_messages - waiting(); }
  std::uint64_t bytes() const { return queue_ ? queue_->bytes : 0; }
  std::uint64_t torn_bytes() const { return file_ ? file_->torn_bytes : 0; }
  // Bytes of the file log's segments on disk (0 in memory), and messages 'drop-oldest' evicted.
  std::uint64_t disk_bytes() const { return log() ? log()->disk_bytes() : 0; }
  std::uint64_t evicted() const { return queue_ ? queue_->evicted : 0; }
  // The resume position stored beside the file log (resume_position_file); nullopt without one.
  std::optional<std::string> load_resume_position();
  // Written by the disk worker; nothing without a file log.
  void store_resume_position(std::string position);

 private:
  void pop_delivered_head();
  void remove_delivered_head(std::vector<sent_receipt>& delivered);
  // A generated key: the prefix, '-', the seq in at least 12 hex digits (16 at most).
  static constexpr std::size_t max_key_size = idempotency_key_size + 1 + 16;
  void append_key(std::string& out, std::uint64_t seq) const;
  // Whether a message keeps its generated key: matched against acks, or put into the JSON
  // (keyField). Otherwise nobody reads it again — receipts carry key_prefix() and the seq, and
  // JavaScript builds the same string; a file log's record gets it made as it is written — and a
  // message keeps only a key its sender gave (bench send-64-text: one snprintf and one
  // allocation less per message).
  bool keeps_keys() const {
    return config_->guarantee == delivery_guarantee::acked || !config_->key_field.empty();
  }
  void forget_key(const outbox_item& item);
  // 'drop-oldest': removes the oldest message of an earlier batch that is not on the wire yet.
  bool evict_oldest_unsent(std::size_t& first_new, std::vector<send_outcome>& rejected, failure error);

  struct sync_job;  // one group commit handed to the disk worker
  void complete_sync(std::shared_ptr<sync_job> job);  // by value: it resets file_->running_sync
  void apply_sync_result(std::uint64_t upto, std::error_code ec);
  void absorb_background_failure();

  // The first failure of a background sync (a new segment's), set by the worker, taken by the
  // io thread before it decides a group commit. Shared with the jobs, so none dangles. Made by
  // open() for a file outbox; an in-memory outbox has none.
  struct background_failure {
    std::mutex mutex;
    std::error_code first;  // guarded by mutex
  };

  // What only a file outbox needs, made by open(): an in-memory outbox (the default, one per
  // socket) does not carry it (bench idle-5000: RSS per connection).
  struct file_state {
    std::unique_ptr<file_system> fs;
    std::unique_ptr<resume_position_file> resume_file;
    // Destroyed after the log and before what its jobs use: its destructor runs the queued jobs.
    std::unique_ptr<disk_worker> worker;
    poster post_to_io;
    std::shared_ptr<sync_job> running_sync;  // the group commit in flight, if any
    std::shared_ptr<background_failure> sync_failure;  // a background sync's, shared with the worker
    std::vector<sent_receipt> synced;  // outcomes of finished syncs, not yet collected
    std::vector<send_outcome> sync_failed;
    std::uint64_t durable_upto = 0;  // every record up to this seq is on disk
    std::uint64_t torn_bytes = 0;    // recovery cut a torn tail of this many bytes
    // Null if opening it failed, and after close(). close() (which ~outbox runs) closes and
    // resets it while the outbox is whole: its callbacks reach the members above through file_.
    // Declared last all the same, so it would go first.
    std::unique_ptr<outbox_log> log;
  };
  outbox_log* log() const { return file_ ? file_->log.get() : nullptr; }

  // The queue and its counters, made by the first message (or by open() for a file outbox) and
  // kept from then on. An in-memory outbox that never held a message, as an idle socket's, is
  // the seq counter and the key prefix alone (bench idle-5000: RSS per connection). The
  // accessors above read an outbox without one as empty.
  struct queue_state {
    lazy_deque<outbox_item> items;
    std::unique_ptr<std::unordered_map<std::string, std::uint64_t>> key_to_seq;  // 'acked' mode only
    std::size_t send_index = 0;  // items[send_index] is the next to write in this connection
    std::uint64_t first_written_mark = 0;  // every seq up to this was reported by first_written_upto
    std::size_t acked_count = 0;  // acked items not yet popped (an older one is still pending)
    std::uint64_t bytes = 0;
    std::uint64_t evicted = 0;
  };
  queue_state& queue();  // made if need be

  std::shared_ptr<const outbox_config> config_;
  std::unique_ptr<file_state> file_;
  std::unique_ptr<queue_state> queue_;
  std::uint64_t next_seq_ = 1;
  std::atomic<std::uint64_t>* shared_seq_ = nullptr;  // in memory, with direct writes: the seqs
  // A ULID, in place: as a std::string it was a 26-byte block of its own beside the string's
  // 32 bytes, per socket.
  std::array<char, idempotency_key_size> key_prefix_{};
};

}  // namespace rws
