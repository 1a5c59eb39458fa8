#pragma once
// Large message buffers, kept for the next large message instead of freed.
//
// A large binary send copies the JavaScript Buffer into memory of its own on the JS thread; the
// io thread frees that memory once the message is written. glibc gives freed memory at the top
// of its heap back to the kernel (brk), so in a send loop the next copy wrote into fresh pages:
// a page fault every 4 KiB, the largest single cost of the JS thread in a 64 KiB send loop
// (perf, bench send-64k-bin). Buffers of at least `min_size` bytes wait here instead, up to
// `limit_bytes` in all per process; beyond that they are freed as before, so a burst leaves at
// most that much behind.
//
// Any thread: the JS thread takes, the io thread (or whoever drops the last reference) gives.
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rws {

class buffer_recycler {
 public:
  static constexpr std::size_t min_size = 16 * 1024;
  static constexpr std::size_t limit_bytes = 4u << 20;

  // One per process; never destroyed, because io threads may still give buffers back while
  // static destructors run at exit.
  static buffer_recycler& instance() {
    static auto* recycler = new buffer_recycler();
    return *recycler;
  }

  // An empty string whose capacity holds `size` bytes: assign() into it does not allocate.
  std::string take(std::size_t size) {
    std::string out;
    if (size >= min_size) {
      std::lock_guard lock(mutex_);
      // The smallest that fits; the list is short (limit_bytes / min_size entries at most).
      std::size_t best = free_.size();
      for (std::size_t i = 0; i < free_.size(); ++i) {
        if (free_[i].capacity() >= size && (best == free_.size() || free_[i].capacity() < free_[best].capacity())) best = i;
      }
      if (best != free_.size()) {
        bytes_ -= free_[best].capacity();
        out = std::move(free_[best]);
        free_[best] = std::move(free_.back());
        free_.pop_back();
      }
    }
    out.clear();
    out.reserve(size);
    return out;
  }

  // A copy of `size` bytes at `data`, in recycled memory when large.
  std::string copy(const char* data, std::size_t size) {
    std::string out = take(size);
    out.assign(data, size);
    return out;
  }

  // Keeps `buffer`'s memory for a later take(), or frees it when it is small or the recycler
  // is full.
  void give(std::string&& buffer) {
    const std::size_t capacity = buffer.capacity();
    if (capacity < min_size) return;
    std::lock_guard lock(mutex_);
    if (bytes_ + capacity > limit_bytes) return;  // full: the caller's string frees its memory as usual
    bytes_ += capacity;
    free_.push_back(std::move(buffer));
  }

  std::size_t bytes_held() {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  buffer_recycler() = default;

  std::mutex mutex_;
  std::vector<std::string> free_;
  std::size_t bytes_ = 0;
};

}  // namespace rws
