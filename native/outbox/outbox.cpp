#include "outbox/outbox.hpp"

#include <algorithm>
#include <utility>

#include "outbox/idempotency_key.hpp"
#include "resume/json_field.hpp"
#include "outbox/outbox_record.hpp"

namespace rws {
namespace {

failure outbox_failure(failure_code code, std::string message) {
  failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

}  // namespace

outbox::outbox(std::shared_ptr<const outbox_config> config) : config_(std::move(config)) {
  const std::string key = idempotency_key_generator().next();
  std::copy(key.begin(), key.end(), key_prefix_.begin());
}

outbox::~outbox() { close(); }

outbox::queue_state& outbox::queue() {
  if (!queue_) {
    queue_ = std::make_unique<queue_state>();
    if (config_->guarantee == delivery_guarantee::acked) {
      queue_->key_to_seq = std::make_unique<std::unordered_map<std::string, std::uint64_t>>();
    }
  }
  return *queue_;
}

// A group commit on the disk worker. `result` is written by the worker before it posts back
// (or before wait_idle() returns), which orders it before the io thread reads it.
struct outbox::sync_job {
  sync_ticket ticket;
  std::uint64_t upto = 0;  // the newest queued seq when it started: what it makes durable
  std::error_code result;
  bool completed = false;  // io thread: the result was applied
  std::vector<std::function<void()>> also_done;  // start_sync() calls made while it ran
};

failure outbox::open(failure& corrupt, poster post_to_io) {
  if (config_->path.empty()) return {};
  file_ = std::make_unique<file_state>();
  file_->fs = std::make_unique<posix_file_system>();
  file_->post_to_io = std::move(post_to_io);
  file_->worker = std::make_unique<disk_worker>();
  file_->sync_failure = std::make_shared<background_failure>();
  const bool durable = config_->fsync != fsync_policy::none;
  std::error_code ec;
  outbox_recovery_report report{};
  outbox_log_options options;
  options.fsync = config_->fsync;
  // The queue holds the messages: recovery hands each pending one over as it reads it. Only the
  // 'acked' mode looks a recovered message's key up again (the server's ack names it); otherwise
  // the key is already in its payload or record and a million recovered keys would be a million
  // strings nobody reads.
  options.keep_payloads = false;
  options.take_recovered = [this](const recovered_record& r) {
    queue_state& q = queue();
    outbox_item item;
    item.seq = r.seq;
    if (q.key_to_seq) item.key.assign(r.key);
    item.payload = std::string(r.payload);
    item.binary = r.binary;
    q.bytes += item.payload.size();
    if (q.key_to_seq) q.key_to_seq->emplace(std::string(r.key), item.seq);
    q.items.push_back(std::move(item));
  };
  // Each job gets its own duplicate of the directory descriptor (a rare event: a segment
  // created or deleted), so it never acts on a descriptor number the log closed and the kernel
  // handed to something else meanwhile (a log that fails to open is destroyed at once).
  options.remove_segment = [this, durable](int dir, std::string name) {
    std::error_code ec;
    const int dir_copy = file_->fs->duplicate(dir, ec);
    if (dir_copy < 0) {
      if (!file_->fs->remove(dir, name) && durable) file_->fs->sync_directory(dir);  // no descriptor to spare
      return;
    }
    file_->worker->submit([fs = file_->fs.get(), dir_copy, name = std::move(name), durable] {
      if (!fs->remove(dir_copy, name) && durable) fs->sync_directory(dir_copy);
      fs->close(dir_copy);
    });
  };
  // 'always' syncs each record inline before reporting it persisted, so a new segment's file and
  // directory entry must be durable inline too (a background sync could still be queued when
  // the first record in it is reported). 'batch' orders them through the worker.
  if (config_->fsync == fsync_policy::batch) options.sync_in_background = [this](int dir, int fd) {
    std::error_code dup_error;
    const int dir_copy = file_->fs->duplicate(dir, dup_error);
    file_->worker->submit([fs = file_->fs.get(), dir_copy, fd, failed = file_->sync_failure, dup_error] {
      std::error_code ec = fs->sync(fd);
      fs->close(fd);
      if (!ec) ec = dir_copy >= 0 ? fs->sync_directory(dir_copy) : dup_error;
      if (dir_copy >= 0) fs->close(dir_copy);
      if (ec) {
        std::lock_guard<std::mutex> lock(failed->mutex);
        if (!failed->first) failed->first = ec;
      }
    });
  };
  file_->log = outbox_log::open(*file_->fs, config_->path, ec, report, options);
  if (ec || !file_->log) {
    queue_.reset();  // what a recovery that failed part-way handed over (the queue was empty)
    file_->log.reset();
    file_->worker.reset();
    if (ec == outbox_errc::locked) {
      return outbox_failure(failure_code::outbox_locked,
                            "outbox directory " + config_->path +
                                " is in use by another socket or process; give each socket its own outbox.path");
    }
    if (ec == outbox_errc::directory_not_owned) {
      return outbox_failure(failure_code::outbox_io,
                            "outbox directory " + config_->path +
                                " belongs to another user; another user could plant files in it. Use a directory this "
                                "process's user owns (chown it, or choose another outbox.path)");
    }
    if (ec == outbox_errc::directory_open_to_others) {
      return outbox_failure(failure_code::outbox_io,
                            "outbox directory " + config_->path +
                                " can be written by group or others, who could plant files or symlinks in it; run chmod "
                                "700 " + config_->path + " (or choose another outbox.path)");
    }
    if (ec == std::errc::not_a_directory) {
      return outbox_failure(failure_code::outbox_io,
                            "outbox.path " + config_->path +
                                " is not a directory (or is a symbolic link, which is never followed); give the real "
                                "directory's path");
    }
    if (ec == std::errc::too_many_symbolic_link_levels) {
      return outbox_failure(failure_code::outbox_io,
                            "outbox directory " + config_->path +
                                " is, or holds, a symbolic link where the outbox expects its own file; outbox files are "
                                "never followed through symlinks. Remove the link (or choose another outbox.path)");
    }
    return outbox_failure(failure_code::outbox_io, "cannot open outbox directory " + config_->path + ": " + ec.message());
  }
  file_->torn_bytes = report.torn_bytes_truncated;
  if (report.corrupt_segments_quarantined) {
    corrupt = outbox_failure(failure_code::outbox_corrupt,
                             "outbox " + config_->path + " had corrupt records (" + report.corrupt_detail +
                                 "); the damaged segment was kept as *.corrupt and every readable record recovered");
  }
  outbox_log& log = *file_->log;
  next_seq_ = log.next_seq();
  if (queue_ && !queue_->items.empty()) file_->durable_upto = queue_->items.back().seq;  // recovered from disk: durable
  file_->resume_file = std::make_unique<resume_position_file>(*file_->fs, log.directory_fd(), *file_->worker, durable);
  return {};
}

std::optional<std::string> outbox::load_resume_position() {
  return file_ && file_->resume_file ? file_->resume_file->load() : std::nullopt;
}

void outbox::store_resume_position(std::string position) {
  if (file_ && file_->resume_file) file_->resume_file->store(std::move(position));
}

void outbox::append_key(std::string& out, std::uint64_t seq) const {
  // The seq in at least 12 hex digits ("%012llx", without snprintf's cost on the send path).
  char hex[16];
  std::size_t digits = 0;
  do {
    hex[sizeof hex - ++digits] = "0123456789abcdef"[seq & 0xf];
    seq >>= 4;
  } while (seq != 0);
  out.append(key_prefix_.data(), key_prefix_.size()).append(1, '-');
  if (digits < 12) out.append(12 - digits, '0');
  out.append(hex + sizeof hex - digits, digits);
}

void outbox::accept(std::vector<outgoing_message>& batch, std::uint64_t first_request,
                    std::vector<sent_receipt>& accepted, std::vector<send_outcome>& rejected) {
  queue_state& q = queue();
  outbox_log* const file_log = log();
  std::size_t first_new = q.items.size();
  // File log: the sender's key of each message queued here, in queue order (empty: none given).
  // Items keep keys only where keeps_keys(); the log still writes every record with its key.
  std::vector<std::string_view> senders_keys;
  if (file_log) senders_keys.reserve(batch.size());
  std::string generated_key;  // reused for each key an item keeps
  std::uint64_t request = first_request;
  const auto dropped = [] {
    return outbox_failure(failure_code::outbox_full,
                          "dropped from a full outbox to make room for newer messages (onFull: 'drop-oldest')");
  };
  // 'drop-oldest' keeps the newest messages. When this batch alone holds more than the limits
  // allow, its own oldest messages are the ones to drop: decided here, before they get a seq,
  // because they have no log record to drop yet and the log's numbering must stay in step with
  // ours (see below). The queue's older messages make room for the rest in the loop.
  std::size_t keep_from = 0;  // batch[keep_from..] can be kept
  if (config_->drop_oldest) {
    std::uint64_t count = 0, bytes = 0;
    for (keep_from = batch.size(); keep_from > 0; --keep_from) {
      const std::uint64_t size = batch[keep_from - 1].data.size();
      if (size > config_->max_bytes) continue;  // rejected on its own below; takes no room
      if (count + 1 > config_->max_messages || bytes + size > config_->max_bytes) break;
      ++count;
      bytes += size;
    }
  }
  for (std::size_t index = 0; index < batch.size(); ++index) {
    auto& message = batch[index];
    std::uint64_t this_request = request++;
    std::uint64_t needed = message.data.size();
    if (needed > config_->max_bytes) {
      // Nothing could ever make room: refuse it without evicting anything (drop-oldest would
      // otherwise empty the whole outbox for a message that still does not fit).
      rejected.push_back({this_request, 0,
                          outbox_failure(failure_code::outbox_full,
                                         "message of " + std::to_string(needed) + " bytes is larger than outbox.maxBytes (" +
                                             std::to_string(config_->max_bytes) + "); it can never be queued")});
      continue;
    }
    if (index < keep_from) {
      rejected.push_back({this_request, 0, dropped()});
      continue;
    }
    if (file_log && needed > outbox_max_payload_size) {
      rejected.push_back({this_request, 0,
                          outbox_failure(failure_code::outbox_full,
                                         "message of " + std::to_string(needed) +
                                             " bytes is larger than the file outbox's 64 MiB record limit")});
      continue;
    }
    if (config_->guarantee == delivery_guarantee::acked && !message.key.empty() && q.key_to_seq->count(message.key)) {
      rejected.push_back({this_request, 0,
                          outbox_failure(failure_code::invalid_option,
                                         "send(data, { key }): key '" + message.key +
                                             "' is already waiting for an ack; keys must be unique until acknowledged")});
      continue;
    }
    // Evict the oldest messages not yet handed to the socket to make room; their senders learn
    // why. A message already on the wire is never reported as dropped.
    while (waiting() >= config_->max_messages || q.bytes + needed > config_->max_bytes) {
      if (!config_->drop_oldest || !evict_oldest_unsent(first_new, rejected, dropped())) break;
    }
    if (waiting() >= config_->max_messages || q.bytes + needed > config_->max_bytes) {
      rejected.push_back({this_request, 0,
                          outbox_failure(failure_code::outbox_full,
                                         "outbox is full (maxMessages " + std::to_string(config_->max_messages) +
                                             ", maxBytes " + std::to_string(config_->max_bytes) + ")" +
                                             (config_->drop_oldest ? " and every queued message is already on the wire" : "") +
                                             "; wait for 'drain' or raise outbox limits")});
      continue;
    }
    outbox_item item;
    item.seq = shared_seq_ && !file_log ? shared_seq_->fetch_add(1, std::memory_order_relaxed) : next_seq_++;
    item.request = this_request;
    if (keeps_keys() && message.key.empty()) {
      generated_key.clear();
      append_key(generated_key, item.seq);
      item.key.assign(generated_key);
    } else if (keeps_keys()) {
      item.key.assign(message.key);
    }
    if (file_log) senders_keys.push_back(message.key);  // `batch` outlives this call
    item.binary = message.binary;
    if (!config_->key_field.empty() && !item.binary) {
      auto with_key = insert_json_string_field(message.data, config_->key_field, item.key.view());
      if (with_key) message.data = std::move(*with_key);
    }
    item.payload = message.masked_with ? shared_payload(std::move(message.data), *message.masked_with)
                                       : shared_payload(std::move(message.data));
    q.bytes += item.payload.size();
    if (config_->guarantee == delivery_guarantee::acked) (*q.key_to_seq)[std::string(item.key.view())] = item.seq;
    q.items.push_back(std::move(item));
  }
  if (file_log && first_new < q.items.size()) {
    // The log numbers records itself; its counter and next_seq_ agree because next_seq_ starts
    // from the log's next_seq() and is re-read from it after every failure.
    // The log writes the queued messages where they are. A generated key, which the item keeps
    // only where keeps_keys(), is made into key_text, reserved up front: the views into it must
    // not move while the batch is built.
    std::vector<outbox_entry_view> entries;
    entries.reserve(q.items.size() - first_new);
    std::string key_text;
    key_text.reserve((q.items.size() - first_new) * max_key_size);
    for (std::size_t i = first_new; i < q.items.size(); ++i) {
      const outbox_item& item = q.items[i];
      std::string_view key = senders_keys[i - first_new];
      if (key.empty()) key = item.key.view();
      if (key.empty()) {
        const std::size_t at = key_text.size();
        append_key(key_text, item.seq);
        key = std::string_view(key_text).substr(at);
      }
      entries.push_back({item.seq, key, item.payload.plain(), item.binary});
    }
    // Records [first_new, first_failed) are stored; the rest of the batch is not.
    std::size_t first_failed = q.items.size();
    std::error_code ec;
    if (config_->fsync == fsync_policy::always) {
      // One record, one fsync: the slow, strict setting. Its fdatasyncs stay on this thread
      // (each send waits for its own anyway); a failed background sync counts against them.
      absorb_background_failure();
      for (std::size_t i = 0; i < entries.size() && !ec; ++i) {
        std::vector<outbox_entry_view> one{entries[i]};
        ec = file_log->append(one);
        if (!ec) ec = file_log->sync();
        if (ec) first_failed = first_new + i;
      }
    } else {
      // 'batch': the fsync is not here but in sync_appended(), which the session runs once for
      // every batch that arrived meanwhile (group commit).
      ec = file_log->append(entries);
      if (ec) first_failed = first_new;
    }
    if (ec) {
      // Nothing the log could not store may be reported durable: take it back out and reject it.
      auto f = outbox_failure(failure_code::outbox_io, "writing the outbox file failed (" + ec.message() +
                                                           "); the message was not stored, retry later");
      std::vector<send_outcome> failed;
      while (q.items.size() > first_failed) {
        auto& item = q.items.back();
        q.bytes -= item.payload.size();
        forget_key(item);
        failed.push_back({item.request, item.seq, f});
        q.items.pop_back();
      }
      rejected.insert(rejected.end(), failed.rbegin(), failed.rend());
      next_seq_ = file_log->next_seq();
    }
  }
  if (file_log && config_->fsync != fsync_policy::batch && !q.items.empty()) file_->durable_upto = q.items.back().seq;
  for (std::size_t i = first_new; i < q.items.size(); ++i) accepted.push_back({q.items[i].request, q.items[i].seq});
}

void outbox::accept_on_wire(outgoing_message message, std::uint64_t request, std::uint64_t seq) {
  queue_state& q = queue();
  outbox_item item;
  item.seq = seq;
  item.request = request;
  if (keeps_keys()) item.key.assign(message.key);  // no generated one: none is ever read here
  item.binary = message.binary;
  item.payload = shared_payload(std::move(message.data));
  q.bytes += item.payload.size();
  q.items.push_back(std::move(item));
  q.send_index = q.items.size();
}

bool outbox::needs_sync() const {
  return log() && queue_ && !queue_->items.empty() && queue_->items.back().seq > file_->durable_upto;
}

void outbox::start_sync(std::function<void()> done) {
  if (sync_in_flight()) {
    // One at a time: this caller hears back when the one in flight is done, and starts the
    // next from there (needs_sync()).
    file_->running_sync->also_done.push_back(std::move(done));
    return;
  }
  if (!needs_sync()) {
    done();
    return;
  }
  absorb_background_failure();
  auto job = std::make_shared<sync_job>();
  job->upto = queue_->items.back().seq;  // needs_sync(): there is a queue
  std::error_code decided;
  if (!file_->log->prepare_sync(job->ticket, decided)) {
    apply_sync_result(job->upto, decided);
    done();
    return;
  }
  file_->running_sync = job;
  // The worker only syncs a duplicate descriptor and reports; the log and the queue are touched
  // on the io thread alone. `done` moves on to the io thread with the completion, so the worker
  // never holds the last reference to the session that owns this outbox.
  file_->worker->submit([fs = file_->fs.get(), job, post = file_->post_to_io, this, done = std::move(done)]() mutable {
    job->result = fs->sync(job->ticket.fd);
    fs->close(job->ticket.fd);
    post([this, job, done = std::move(done)] {
      complete_sync(job);
      done();
      for (auto& also : std::exchange(job->also_done, {})) also();
    });
  });
}

void outbox::complete_sync(std::shared_ptr<sync_job> job) {
  if (job->completed) return;  // already applied by sync_appended(wait)
  job->completed = true;
  if (!file_) return;  // closed without waiting (close_without_waiting): left undecided
  if (file_->running_sync == job) file_->running_sync.reset();
  if (!log()) return;  // closed meanwhile: close() synced what it could
  // A background sync that ran before this one (the worker keeps order) and failed: then this
  // commit does not count either.
  absorb_background_failure();
  apply_sync_result(job->upto, file_->log->finish_sync(job->ticket, job->result));
}

void outbox::apply_sync_result(std::uint64_t upto, std::error_code ec) {
  queue_state& q = queue();
  if (ec) {
    // The log discarded everything appended since its last good sync: exactly the messages
    // above file_->durable_upto, which are the newest, and none of which went on the wire yet.
    auto f = outbox_failure(failure_code::outbox_io, "syncing the outbox file failed (" + ec.message() +
                                                         "); the message was not stored, retry later");
    std::vector<send_outcome> failed;
    while (!q.items.empty() && q.items.back().seq > file_->durable_upto) {
      auto& item = q.items.back();
      q.bytes -= item.payload.size();
      forget_key(item);
      failed.push_back({item.request, item.seq, f});
      q.items.pop_back();
    }
    q.send_index = std::min(q.send_index, q.items.size());
    file_->sync_failed.insert(file_->sync_failed.end(), failed.rbegin(), failed.rend());
    next_seq_ = file_->log->next_seq();
    return;
  }
  auto first = std::upper_bound(q.items.begin(), q.items.end(), file_->durable_upto,
                                [](std::uint64_t s, const outbox_item& item) { return s < item.seq; });
  for (auto it = first; it != q.items.end() && it->seq <= upto; ++it) file_->synced.push_back({it->request, it->seq});
  file_->durable_upto = std::max(file_->durable_upto, upto);
}

void outbox::absorb_background_failure() {
  if (!file_) return;  // in memory
  std::error_code ec;
  {
    std::lock_guard<std::mutex> lock(file_->sync_failure->mutex);
    ec = file_->sync_failure->first;
    file_->sync_failure->first.clear();
  }
  if (ec && log()) file_->log->report_background_sync_failure(ec);
}

void outbox::sync_appended(std::vector<sent_receipt>& persisted, std::vector<send_outcome>& rejected, bool wait) {
  if (wait && log()) {
    // Teardown and close(): the group commit in flight is decided first, in order, then the rest
    // is synced right here. The bound keeps a dead disk from holding the caller forever; its
    // sends then stay unresolved, as they would in a crash.
    if (file_->running_sync && file_->worker->wait_idle(std::chrono::seconds(10))) complete_sync(file_->running_sync);
    if (!file_->running_sync && needs_sync()) {
      absorb_background_failure();
      apply_sync_result(queue_->items.back().seq, file_->log->sync());  // needs_sync(): there is a queue
    }
  }
  if (!file_) return;  // in memory: nothing is synced
  persisted.insert(persisted.end(), file_->synced.begin(), file_->synced.end());
  rejected.insert(rejected.end(), file_->sync_failed.begin(), file_->sync_failed.end());
  file_->synced.clear();
  file_->sync_failed.clear();
}

void outbox::after_disk_work(std::function<void()> done) {
  if (!log()) return done();
  file_->worker->submit([post = file_->post_to_io, done = std::move(done)]() mutable { post(std::move(done)); });
}

const outbox_item* outbox::next_to_send() {
  if (!queue_) return nullptr;
  queue_state& q = *queue_;
  while (q.send_index < q.items.size() && q.items[q.send_index].acked) ++q.send_index;
  if (q.send_index >= q.items.size()) return nullptr;
  // A record goes on the wire only once it is durable: a failed fsync then never rejects a
  // message the server already has.
  if (log() && q.items[q.send_index].seq > file_->durable_upto) return nullptr;
  return &q.items[q.send_index++];
}

void outbox::first_written_upto(std::uint64_t seq, std::vector<sent_receipt>& written) {
  queue_state& q = queue();
  if (seq <= q.first_written_mark) return;  // a resend of messages already reported
  auto it = std::upper_bound(q.items.begin(), q.items.end(), q.first_written_mark,
                             [](std::uint64_t s, const outbox_item& item) { return s < item.seq; });
  for (; it != q.items.end() && it->seq <= seq; ++it) {
    if (it->request) written.push_back({it->request, it->seq});
  }
  q.first_written_mark = seq;
}

void outbox::written_upto(std::uint64_t seq, std::vector<sent_receipt>& delivered) {
  if (config_->guarantee != delivery_guarantee::written || !queue_) return;
  while (!queue_->items.empty() && queue_->items.front().seq <= seq && queue_->send_index > 0) {
    remove_delivered_head(delivered);
  }
}

bool outbox::acknowledge(const std::string& key, std::vector<sent_receipt>& delivered) {
  // Not 'acked' (nothing waits for an ack), or nothing was ever sent.
  if (!queue_ || !queue_->key_to_seq) return false;
  queue_state& q = *queue_;
  auto found = q.key_to_seq->find(key);
  if (found == q.key_to_seq->end()) return false;
  std::uint64_t seq = found->second;
  q.key_to_seq->erase(found);
  if (q.items.empty() || seq < q.items.front().seq) return false;
  // Seqs in the queue ascend, so a binary search finds the item even after out-of-order acks.
  auto it = std::lower_bound(q.items.begin(), q.items.end(), seq,
                             [](const outbox_item& item, std::uint64_t s) { return item.seq < s; });
  if (it == q.items.end() || it->seq != seq || it->acked) return false;
  it->acked = true;
  ++q.acked_count;
  delivered.push_back({it->request, it->seq});
  if (log()) file_->log->mark_delivered(seq);
  pop_delivered_head();
  return true;
}

void outbox::pop_delivered_head() {
  queue_state& q = queue();
  while (!q.items.empty() && q.items.front().acked) {
    --q.acked_count;
    q.bytes -= q.items.front().payload.size();
    q.items.pop_front();
    if (q.send_index > 0) --q.send_index;
  }
}

void outbox::remove_delivered_head(std::vector<sent_receipt>& delivered) {
  queue_state& q = queue();
  auto& item = q.items.front();
  delivered.push_back({item.request, item.seq});
  if (outbox_log* const file_log = log()) file_log->mark_delivered(item.seq);
  forget_key(item);
  q.bytes -= item.payload.size();
  q.items.pop_front();
  if (q.send_index > 0) --q.send_index;
  pop_delivered_head();
}

void outbox::forget_key(const outbox_item& item) {
  // Only this item's own mapping: after a rejected duplicate the key may belong to another.
  if (!queue_ || !queue_->key_to_seq) return;
  auto& key_to_seq = *queue_->key_to_seq;
  auto found = key_to_seq.find(std::string(item.key.view()));
  if (found != key_to_seq.end() && found->second == item.seq) key_to_seq.erase(found);
}

bool outbox::evict_oldest_unsent(std::size_t& first_new, std::vector<send_outcome>& rejected, failure error) {
  queue_state& q = queue();
  std::size_t i = q.send_index;
  while (i < first_new && q.items[i].acked) ++i;
  if (i >= first_new) return false;  // only messages of earlier batches, and none on the wire
  auto& item = q.items[i];
  rejected.push_back({item.request, item.seq, std::move(error)});
  ++q.evicted;
  if (log()) file_->log->drop(item.seq);
  forget_key(item);
  q.bytes -= item.payload.size();
  q.items.erase(q.items.begin() + static_cast<std::ptrdiff_t>(i));
  --first_new;
  return true;
}

bool outbox::has_unsent() const {
  if (!queue_) return false;
  std::size_t i = queue_->send_index;
  while (i < queue_->items.size() && queue_->items[i].acked) ++i;
  // Not yet durable counts too: its group commit is running and it goes out once that returns
  // (or is rejected if it fails), so close() waits for it rather than blocking on the disk.
  return i < queue_->items.size();
}

void outbox::abandon(std::vector<send_outcome>& rejected) {
  if (log() || !queue_) return;  // on disk they wait for the next process; or nothing was sent
  queue_state& q = *queue_;
  auto f = outbox_failure(failure_code::closed, "the socket was closed before this message was delivered");
  for (auto& item : q.items) {
    if (!item.acked) rejected.push_back({item.request, item.seq, f});
  }
  q.items.clear();
  if (q.key_to_seq) q.key_to_seq->clear();
  q.bytes = 0;
  q.acked_count = 0;
  q.send_index = 0;
}

void outbox::close() {
  if (!log()) return;
  // Queued disk work (a sync, the resume position, deletions) finishes before the final sync,
  // which close() of the log does on this thread; then the worker stops. A disk that has not
  // finished it within 10 s (a teardown on a dead disk) is not waited for any longer: the worker
  // finishes the close by itself, and nobody is left to hear of the undecided sends.
  if (!file_->worker->wait_idle(std::chrono::seconds(10))) {
    std::vector<send_outcome> undecided;
    close_without_waiting(undecided);
    return;
  }
  if (file_->running_sync) complete_sync(file_->running_sync);
  file_->log->close();
  file_->worker.reset();
  file_->resume_file.reset();
  file_->log.reset();
}

void outbox::close_without_waiting(std::vector<send_outcome>& undecided) {
  if (!log()) return;
  if (queue_) {
    auto f = outbox_failure(failure_code::closed,
                            "the socket closed before its disk confirmed this message (the disk did not answer in "
                            "time); it is in the outbox's files, and a socket opened on the same outbox.path sends "
                            "it if the disk kept it");
    for (const auto& item : queue_->items) {
      if (item.seq > file_->durable_upto) undecided.push_back({item.request, item.seq, f});
    }
  }
  // The worker runs what is queued (the jobs keep using the file system and the resume file
  // until then), then this: the log's final sync and close, on the worker's thread, with no
  // outbox left to route its disk work through.
  file_->log->do_disk_work_inline();
  std::shared_ptr<file_state> state(std::move(file_));
  disk_worker::retire(std::move(state->worker), [state]() mutable {
    state->log->close();
    state->resume_file.reset();
    state->log.reset();
    state.reset();
  });
}

}  // namespace rws
