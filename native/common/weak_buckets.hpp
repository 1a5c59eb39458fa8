#pragma once
// The storage of a cache that hands one shared object to every user with equal settings and
// holds it only weakly (config_cache, tls_context_cache): entries in buckets by a hash of the
// settings, a new entry put in the slot of an expired one of its bucket, and a sweep of expired
// entries once more were added than were held at the last sweep, which keeps the cost per add
// constant on average and the entries under about twice those in use, however many distinct
// settings come and go. `Entry` says whether it expired(). Not thread-safe.
#include <cstddef>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rws {

template <class Entry>
class weak_buckets {
 public:
  // The first entry of bucket `hash` for which found(entry) is true, or nullptr.
  template <class Found>
  Entry* find(std::size_t hash, Found found) {
    auto bucket = buckets_.find(hash);
    if (bucket == buckets_.end()) return nullptr;
    for (auto& entry : bucket->second) {
      if (found(entry)) return &entry;
    }
    return nullptr;
  }

  void add(std::size_t hash, Entry entry) {
    auto& bucket = buckets_[hash];
    for (auto& slot : bucket) {
      if (slot.expired()) {
        slot = std::move(entry);
        return;
      }
    }
    bucket.push_back(std::move(entry));
    ++size_;
    if (++added_since_sweep_ > size_ / 2) sweep();
  }

  // Entries held (live or not yet swept).
  std::size_t size() const { return size_; }

 private:
  void sweep() {
    added_since_sweep_ = 0;
    size_ = 0;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      std::erase_if(it->second, [](const Entry& entry) { return entry.expired(); });
      size_ += it->second.size();
      it = it->second.empty() ? buckets_.erase(it) : std::next(it);
    }
  }

  std::unordered_map<std::size_t, std::vector<Entry>> buckets_;
  std::size_t size_ = 0;
  std::size_t added_since_sweep_ = 0;
};

}  // namespace rws
