#pragma once
// Dedupe of replayed events: after a resume the server may replay events the client
// already delivered; the session drops those whose id is still in this window.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rws {

// Remembers the last `capacity` delivered ids. FIFO eviction (the oldest delivered id goes
// first, regardless of lookups), O(1) average contains/insert, memory bounded by capacity.
// Single-threaded: owned by the session on the io thread.
class id_window {
 public:
  explicit id_window(std::size_t capacity = 10000);

  // The set holds views into order_, so a copy would point into the source; moving is fine
  // because a moved std::deque hands over its blocks with the elements where they were.
  id_window(const id_window&) = delete;
  id_window& operator=(const id_window&) = delete;
  id_window(id_window&&) = default;
  id_window& operator=(id_window&&) = default;

  bool contains(std::string_view id) const;
  // No-op if already present (its position in the eviction order is kept) or if capacity is 0.
  void insert(std::string id);
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }
  void clear();

 private:
  std::size_t capacity_;
  // Oldest at the front. A deque, not a vector ring: push_back/pop_front never move existing
  // strings, so the string_views in index_ (which point into them, SSO buffers included) stay
  // valid, and memory grows with use instead of being reserved for `capacity` up front.
  std::deque<std::string> order_;
  std::unordered_set<std::string_view> index_;
};

// Numeric id gaps: when both ids are non-negative decimal integers of 1 to 19 digits and
// next > previous + 1, the number of ids in between (next - previous - 1); otherwise 0
// (non-numeric, equal, decreasing or consecutive ids).
std::uint64_t numeric_id_gap(std::string_view previous, std::string_view next);

}  // namespace rws
