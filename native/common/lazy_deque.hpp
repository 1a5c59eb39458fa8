#pragma once
// A std::deque that allocates nothing until its first element. libstdc++'s deque holds a map and
// one block from construction on, even empty (and even after being moved from): for the outbox's
// items that is ~0.5 KiB per socket, paid by every idle socket that never sends. Only what the
// outbox uses is here. Once made, the deque stays until release_if_empty(): a socket that sends
// does not allocate it again for every message.
#include <cstddef>
#include <deque>
#include <memory>
#include <utility>

namespace rws {

template <class T>
class lazy_deque {
 public:
  using iterator = typename std::deque<T>::iterator;
  using const_iterator = typename std::deque<T>::const_iterator;

  bool empty() const { return !items_ || items_->empty(); }
  // Whether the deque (its map and blocks) exists: made by the first push_back, gone after
  // release_if_empty().
  bool holds_memory() const { return items_ != nullptr; }
  std::size_t size() const { return items_ ? items_->size() : 0; }
  void push_back(T&& value) {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    items_->push_back(std::move(value));
  }
  void clear() {
    if (items_) items_->clear();
  }
  // Frees the deque when empty: its map of blocks keeps the size of the longest queue it held
  // (~80 KB after 20,000 messages), which a socket that sent one burst should not keep.
  void release_if_empty() {
    if (items_ && items_->empty()) items_.reset();
  }
  // An empty range when nothing was ever added: iterating allocates nothing either.
  iterator begin() { return items_ ? items_->begin() : none().begin(); }
  iterator end() { return items_ ? items_->end() : none().end(); }

  // These need an element, so the deque exists.
  T& operator[](std::size_t i) { return (*items_)[i]; }
  const T& operator[](std::size_t i) const { return (*items_)[i]; }
  T& front() { return items_->front(); }
  T& back() { return items_->back(); }
  const T& back() const { return items_->back(); }
  void pop_front() { items_->pop_front(); }
  void pop_back() { items_->pop_back(); }
  iterator erase(iterator at) { return items_->erase(at); }

 private:
  // Never written: only its (empty) range is handed out.
  static std::deque<T>& none() {
    static std::deque<T> nothing;
    return nothing;
  }

  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace rws
